#include "runtime/eval_driver.h"

#include "runtime/checkpoint.h"
#include "runtime/denormals.h"
#include "runtime/error.h"
#include "runtime/model_layout.h"
#include "runtime/npy_writer.h"
#include "runtime/parallel.h"
#include "runtime/saved_normalizer.h"
#include "runtime/splits.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

namespace sinter::rt {
namespace {

std::string str(const char* s) { return s ? s : ""; }

// The output --predictions writes: the first one that is not the loss. It must hold a fixed number of
// floating values per sample: [batch, ...] with every other dimension fixed.
int32_t predictionsOutput(const sinter_model_desc& m) {
  for (int32_t i = 0; i < m.num_outputs; ++i) {
    if (i == m.loss_output) continue;
    const sinter_tensor_desc& t = m.outputs[i];
    bool perSample = t.rank >= 1 && t.dims[0] < 0 && (t.dtype == SINTER_F32 || t.dtype == SINTER_F64);
    for (int32_t d = 1; d < t.rank; ++d) perSample = perSample && t.dims[d] >= 0;
    if (!perSample)
      throw Error("--predictions: output '" + str(t.name) + "' of model '" + str(m.name) +
                  "' is not a floating tensor [batch, ...] with fixed other dimensions: it has no values per sample");
    return i;
  }
  throw Error("--predictions: model '" + str(m.name) + "' has no output besides its loss");
}

}  // namespace

EvalReport evaluateTestSet(const sinter_model_desc& m, const DriverOptions& o, const std::string& predictionsPath) {
  if (o.batch < 1) throw Error("the batch size must be >= 1 (pass --batch)");
  if (o.loadPath.empty()) throw Error("no weights to evaluate: pass --load FILE");
  const Layout l = checkModel(m);
  checkMetricsFit(m, l, o.metrics);
  const int32_t predOut = predictionsPath.empty() ? -1 : predictionsOutput(m);
  if (!predictionsPath.empty()) {
    const std::filesystem::path dir = std::filesystem::path(predictionsPath).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
      throw Error("--predictions: directory " + dir.string() + " does not exist");
  }

  // With --normalize standard, statistics saved with the weights standardize the test set as training did:
  // nothing is fitted again and no training data is needed. Without it the samples are fed as they are
  // (a caller may have standardized them already).
  const bool savedNorm = o.standardize && hasSavedNormalizer(o.loadPath);
  DriverOptions testOpts = o;
  testOpts.standardize = o.standardize && !savedNorm;
  Splits data = loadTestSplit(m, l, testOpts);
  const Dataset& set = data.test;
  EvalReport r;
  r.source = set.source;
  r.samples = set.n;
  r.batch = std::min(o.batch, set.n);
  Buffers b = makeBuffers(m, l, r.batch);
  if (savedNorm) loadWithNormalizer(o.loadPath, m, b.paramPtrs.data(), l.features, data.norm);
  else loadCheckpoint(o.loadPath, m, b.paramPtrs.data());

  // The predictions as float32, whatever the model's dtype: what numpy users expect from an .npy file.
  std::vector<float> predictions;
  int64_t perSample = 0;
  if (predOut >= 0) {
    const sinter_tensor_desc& t = m.outputs[predOut];
    perSample = elementCount(t, 1);
    predictions.resize(static_cast<size_t>(set.n * perSample));
    r.predictionsOutput = str(t.name);
    r.predictionsShape = {set.n};
    for (int32_t d = 1; d < t.rank; ++d) r.predictionsShape.push_back(t.dims[d]);
  }
  auto keepPredictions = [&](int64_t first, int64_t count) {
    for (int64_t k = 0; k < count * perSample; ++k)
      predictions[static_cast<size_t>(first * perSample + k)] = static_cast<float>(b.output(predOut, k));
  };

  setThreads(static_cast<int>(o.threads));
  installParallelFor(m);
  r.threads = threads();
  SplitMetrics e;
  {
    DenormalGuard ftz(o.flushDenormals);
    const auto start = std::chrono::steady_clock::now();
    if (predOut >= 0) e = evaluateSplit(m, l, set, data.norm, r.batch, o.topK, b, keepPredictions);
    else e = evaluateSplit(m, l, set, data.norm, r.batch, o.topK, b);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  r.loss = e.loss;
  r.accuracyMeasured = (o.metrics & SINTER_METRIC_ACCURACY) != 0;
  r.accuracy = e.accuracy;
  r.correct = e.correct;
  r.metrics = o.metrics & ~kStepMetrics;  // gradient norms are of training steps
  r.topK = o.topK;
  r.figures = e;
  if (predOut >= 0) writeNpy(predictionsPath, r.predictionsShape, predictions);
  return r;
}

}  // namespace sinter::rt
