// The metrics shared by the training driver and sinter_evaluate (runtime/metrics.h), on hand-made
// descriptors and buffers.
#include <catch2/catch.hpp>

#include "runtime/error.h"
#include "runtime/metrics.h"
#include "runtime/model_layout.h"

#include <cmath>
#include <vector>

namespace {

const int64_t kX[] = {-1, 4}, kY[] = {-1}, kProbs[] = {-1, 3}, kW[] = {4, 3};
const sinter_tensor_desc kInputs[] = {{"x", SINTER_F32, 2, kX, 0, 0, 0}, {"y", SINTER_I32, 1, kY, 0, 0, 0}};
const sinter_tensor_desc kParams[] = {{"w", SINTER_F32, 2, kW, 0, 0, 0}};
// The loss first: the prediction is found wherever it is.
const sinter_tensor_desc kOutputs[] = {{"loss", SINTER_F32, 0, nullptr, 0, 0, 0},
                                       {"probs", SINTER_F32, 2, kProbs, 0, 0, 0}};

sinter_model_desc model() {
  sinter_model_desc m{};
  m.abi_version = SINTER_ABI_VERSION;
  m.num_syms = 1;
  m.num_inputs = 2;
  m.num_params = 1;
  m.num_outputs = 2;
  m.loss_output = 0;
  m.inputs = kInputs;
  m.params = kParams;
  m.outputs = kOutputs;
  return m;
}

// forward: writes a fixed loss and fixed probabilities, whatever the inputs.
void fixedForward(void* const* buf, const int64_t* sym) {
  *static_cast<float*>(buf[3]) = 0.75f;
  const float probs[] = {0.1f, 0.8f, 0.1f, 0.5f, 0.5f, 0.0f, 0.2f, 0.3f, 0.5f, 0.9f, 0.05f, 0.05f};
  for (int64_t i = 0; i < sym[0] * 3; ++i) static_cast<float*>(buf[4])[i] = probs[i];
}

}  // namespace

using namespace sinter::rt;

TEST_CASE("metrics: the train block's list, 0 meaning the task's") {
  sinter_model_desc m = model();
  CHECK(declaredMetrics(m) == (SINTER_METRIC_LOSS | SINTER_METRIC_ACCURACY));
  m.num_inputs = 1;  // no class labels: a regression's
  CHECK(declaredMetrics(m) == (SINTER_METRIC_LOSS | SINTER_METRIC_MAE | SINTER_METRIC_RMSE | SINTER_METRIC_R2));
  m = model();
  m.train.metrics = SINTER_METRIC_LOSS;
  CHECK(declaredMetrics(m) == SINTER_METRIC_LOSS);
  m.train.metrics = SINTER_METRIC_ACCURACY;  // the loss is always reported
  CHECK(declaredMetrics(m) == (SINTER_METRIC_LOSS | SINTER_METRIC_ACCURACY));
}

TEST_CASE("metrics: accuracy reads the labels input and the prediction output") {
  sinter_model_desc m = model();
  AccuracyTensors a = findAccuracyTensors(m);
  CHECK(a.found());
  CHECK(a.labelInput == 1);
  CHECK(a.predOutput == 1);
  CHECK(a.classes == 3);
  m.num_inputs = 1;  // no labels
  CHECK_FALSE(findAccuracyTensors(m).found());
  m = model();
  m.loss_output = -1;  // no train block
  CHECK_FALSE(findAccuracyTensors(m).found());
  const sinter_tensor_desc f64Probs = {"probs", SINTER_F64, 2, kProbs, 0, 0, 0};
  CHECK_FALSE(isPredictionTensor(f64Probs, SINTER_F32));
  CHECK(isLabelsTensor(kInputs[1]));
  CHECK_FALSE(isLabelsTensor(kInputs[0]));
}

TEST_CASE("metrics: one batch's loss and correct predictions, the first maximum winning ties") {
  sinter_model_desc m = model();
  m.forward = fixedForward;
  // Rows predict 1, 0 (a tie of 0 and 1: the first), 2, 0.
  float x[16] = {}, w[12] = {}, loss = 0, probs[12] = {};
  int32_t y[4] = {1, 1, 2, 2};
  void* buffers[] = {x, y, w, &loss, probs};
  const AccuracyTensors a = findAccuracyTensors(m);
  const BatchMetrics r = evaluateBatch(m, &a, buffers, 4);
  CHECK(r.loss == 0.75);
  CHECK(r.correct == 2);
  CHECK(evaluateBatch(m, nullptr, buffers, 4).correct == 0);  // accuracy not asked for
  y[1] = 0;
  CHECK(correctPredictions(m, a, buffers, 4) == 3);
  CHECK(correctPredictions(m, a, buffers, 2) == 2);
}

TEST_CASE("metrics: accuracy and top-k over batches of class labels") {
  // Rows of 3 classes; labels 1, 1, 2, 0: ranks 1, 2 (a tie with the first counts below it), 3, 1.
  const float probs[] = {0.1f, 0.8f, 0.1f, 0.5f, 0.5f, 0.0f, 0.2f, 0.3f, 0.1f, 0.9f, 0.05f, 0.05f};
  const int32_t labels[] = {1, 1, 2, 0};
  MetricSums s;
  s.addLoss(2.0, 3);  // batches of 3 and 1: the split's figures are per sample
  s.addClasses(labels, probs, SINTER_F32, 3, 3, 2);
  s.addLoss(4.0, 1);
  s.addClasses(labels + 3, probs + 9, SINTER_F32, 3, 1, 2);
  const SplitMetrics r = s.result();
  CHECK(r.samples == 4);
  CHECK(r.loss == 2.5);
  CHECK(r.perplexity == Approx(std::exp(2.5)));
  CHECK(r.correct == 2);  // rows 0 and 3; row 1's tie goes to class 0
  CHECK(r.accuracy == 0.5);
  CHECK(r.topKCorrect == 3);  // top-2: rows 0, 1 (nothing above 0.5 but the equal 0.5), 3
  CHECK(r.topK == 0.75);
  CHECK(r.value(SINTER_METRIC_TOP_K) == 0.75);
}

TEST_CASE("metrics: MAE, RMSE and R^2 of floating targets, by hand") {
  // Two target columns over three samples, in two batches. Column 0: y 1, 2, 3, p 1, 2, 5: residuals 0, 0,
  // -2, SS_tot 2, R^2 1 - 4/2 = -1. Column 1: y 0, 0, 4, p 1, 0, 4: residuals -1, 0, 0, SS_tot 32/3,
  // R^2 1 - 3/32. MAE (2 + 1) / 6, RMSE sqrt(5 / 6), R^2 the mean of both columns'.
  const double y[] = {1, 0, 2, 0, 3, 4}, p[] = {1, 1, 2, 0, 5, 4};
  MetricSums s(2);
  s.addLoss(0, 2);
  s.addValues(y, p, SINTER_F64, 2);
  s.addLoss(0, 1);
  s.addValues(y + 4, p + 4, SINTER_F64, 1);
  const SplitMetrics r = s.result();
  CHECK(r.mae == Approx(0.5));
  CHECK(r.rmse == Approx(std::sqrt(5.0 / 6.0)));
  CHECK(r.r2 == Approx((-1.0 + (1.0 - 3.0 / 32.0)) / 2));
  // A column of constant targets predicted exactly scores 1 (as sklearn's r2_score).
  const double c[] = {2, 2}, q[] = {2, 2};
  MetricSums k(1);
  k.addLoss(0, 2);
  k.addValues(c, q, SINTER_F64, 2);
  CHECK(k.result().r2 == 1.0);
}

namespace {

const int64_t kT[] = {-1}, kT2[] = {-1, 2}, kP2[] = {-1, 2};
const sinter_tensor_desc kRegInputs[] = {{"x", SINTER_F32, 2, kX, 0, 0, 0}, {"y", SINTER_F32, 2, kT2, 0, 0, 0}};
const sinter_tensor_desc kRegOutputs[] = {{"loss", SINTER_F32, 0, nullptr, 0, 0, 0},
                                          {"pred", SINTER_F32, 2, kP2, 0, 0, 0}};

void noEntry(void* const*, const int64_t*) {}

sinter_model_desc regression() {
  sinter_model_desc m = model();
  m.has_train = 1;
  m.forward = noEntry;
  m.train_step = noEntry;
  m.inputs = kRegInputs;
  m.outputs = kRegOutputs;
  return m;
}

std::string layoutError(const sinter_model_desc& m) {
  try {
    checkModel(m);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("layout: a floating target input makes a regression, predicted by an output of its shape") {
  sinter_model_desc m = regression();
  const Layout l = checkModel(m);
  CHECK(l.valueTarget);
  CHECK(l.labelInput == 1);
  CHECK(l.targetWidth == 2);
  CHECK(l.predOutput == 1);
  CHECK_NOTHROW(checkMetricsFit(m, l, SINTER_METRIC_LOSS | SINTER_METRIC_R2 | SINTER_METRIC_PERPLEXITY));
  try {
    checkMetricsFit(m, l, SINTER_METRIC_ACCURACY);
    FAIL("accuracy fits a regression");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("metric accuracy does not fit") && Catch::Contains("mae, rmse, r2"));
  }
  const Layout classes = checkModel([] {
    sinter_model_desc c = model();
    c.has_train = 1;
    c.forward = noEntry;
    c.train_step = noEntry;
    return c;
  }());
  CHECK_FALSE(classes.valueTarget);
  CHECK_THROWS_WITH(checkMetricsFit(m, classes, SINTER_METRIC_MAE), Catch::Contains("accuracy, top_k_accuracy"));

  // A prediction of another width: the error says what would fit.
  const sinter_tensor_desc wide[] = {{"loss", SINTER_F32, 0, nullptr, 0, 0, 0},
                                     {"pred", SINTER_F32, 2, kProbs, 0, 0, 0}};
  m.outputs = wide;
  CHECK_THAT(layoutError(m), Catch::Contains("no prediction output for its target 'y'") &&
                                 Catch::Contains("[batch, ...] of 2 values per sample"));
  // A target of the other floating dtype.
  const sinter_tensor_desc f64Target[] = {kRegInputs[0], {"y", SINTER_F64, 1, kT, 0, 0, 0}};
  m = regression();
  m.inputs = f64Target;
  CHECK_THAT(layoutError(m), Catch::Contains("target input 'y' is f64 but the samples input 'x' is f32"));
}

TEST_CASE("layout: inputs after the target are extra inputs, fed as they are") {
  // x[batch, 2], y[batch, 2], then a mask[batch, 2] and lengths[batch] of every dtype the driver feeds.
  const int64_t fixedRest[] = {-1, 2}, scalar[] = {-1}, batchLast[] = {2, -1};
  const sinter_tensor_desc inputs[] = {kRegInputs[0],
                                       kRegInputs[1],
                                       {"mask", SINTER_F64, 2, fixedRest, 0, 0, 0},
                                       {"lengths", SINTER_I32, 1, scalar, 0, 0, 0}};
  sinter_model_desc m = regression();
  m.inputs = inputs;
  m.num_inputs = 4;
  const Layout l = checkModel(m);
  CHECK(l.labelInput == 1);
  REQUIRE(l.extras.size() == 2);
  CHECK(l.extras[0].input == 2);
  CHECK(l.extras[0].dtype == SINTER_F64);
  CHECK(l.extras[0].width == 2);
  CHECK(l.extras[1].input == 3);
  CHECK(l.extras[1].width == 1);
  // Without the batch first, an input cannot be cut into samples.
  const sinter_tensor_desc transposed[] = {kRegInputs[0], kRegInputs[1], {"mask", SINTER_F32, 2, batchLast, 0, 0, 0}};
  m.inputs = transposed;
  m.num_inputs = 3;
  CHECK_THAT(layoutError(m), Catch::Contains("input 'mask' is not what the training driver feeds: an extra input "
                                             "after the samples and the target needs the batch first"));
  // A mask declared before the target is taken for the target: the error says where extra inputs go.
  const int64_t wide[] = {-1, 5};
  const sinter_tensor_desc early[] = {kRegInputs[0], {"mask", SINTER_F32, 2, wide, 0, 0, 0}, kRegInputs[1]};
  m.inputs = early;
  CHECK_THAT(layoutError(m), Catch::Contains("no prediction output for its target 'mask'") &&
                                 Catch::Contains("declare extra inputs such as masks or lengths after it"));
}

TEST_CASE("metrics: per-step class labels, a prediction per step, accuracy per token") {
  // A language model: token ids text[batch, 2], a label per step next[batch, 2], probs[batch, 2, 3].
  const int64_t seq[] = {-1, 2}, stepProbs[] = {-1, 2, 3};
  const sinter_tensor_desc inputs[] = {{"text", SINTER_I32, 2, seq, 0, 0, 0}, {"next", SINTER_I32, 2, seq, 0, 0, 0}};
  const sinter_tensor_desc outputs[] = {{"loss", SINTER_F32, 0, nullptr, 0, 0, 0},
                                        {"probs", SINTER_F32, 3, stepProbs, 0, 0, 0}};
  sinter_model_desc m = regression();
  m.inputs = inputs;
  m.outputs = outputs;
  const Layout l = checkModel(m);
  CHECK(l.integerSamples);
  CHECK(l.stepLabels);
  CHECK_FALSE(l.valueTarget);
  CHECK(l.labelInput == 1);
  CHECK(l.labelWidth == 2);
  CHECK(l.classes == 3);
  CHECK(l.predOutput == 1);
  CHECK(declaredMetrics(m) == (SINTER_METRIC_LOSS | SINTER_METRIC_ACCURACY | SINTER_METRIC_PERPLEXITY));
  CHECK_NOTHROW(checkMetricsFit(m, l, SINTER_METRIC_TOP_K | SINTER_METRIC_PERPLEXITY));
  CHECK_THROWS_WITH(checkMetricsFit(m, l, SINTER_METRIC_R2), Catch::Contains("accuracy, top_k_accuracy"));

  // Two samples of two steps: rows predict 1, 0, 2, 0 against labels 1, 1, 2, 2; 2 of 4 tokens right.
  float probs[] = {0.1f, 0.8f, 0.1f, 0.5f, 0.4f, 0.1f, 0.2f, 0.3f, 0.5f, 0.9f, 0.07f, 0.03f};
  int32_t text[4] = {}, next[] = {1, 1, 2, 2};
  float loss = 0;
  void* buffers[] = {text, next, nullptr, &loss, probs};
  CHECK(correctPredictions(m, l.accuracy(), buffers, 2) == 2);
  CHECK(correctPredictions(m, l.accuracy(), buffers, 1) == 1);  // the first sample's two steps
  MetricSums s;
  s.addLoss(1.5, 1);
  s.addClasses(next, probs, SINTER_F32, 3, 2, 2);  // the first sample: two rows
  s.addLoss(0.5, 1);
  s.addClasses(next + 2, probs + 6, SINTER_F32, 3, 2, 2);
  const SplitMetrics r = s.result();
  CHECK(r.samples == 2);
  CHECK(r.labels == 4);
  CHECK(r.correct == 2);
  CHECK(r.accuracy == 0.5);
  CHECK(r.topKCorrect == 3);  // top-2: rows 0, 1 (0.4 is second), 2; not row 3
  CHECK(r.topK == 0.75);
  CHECK(r.loss == 1.0);
  CHECK(r.perplexity == Approx(std::exp(1.0)));

  // A prediction whose steps differ from the labels': the error says what would fit.
  const int64_t wrongSteps[] = {-1, 3, 3};
  const sinter_tensor_desc wrong[] = {outputs[0], {"probs", SINTER_F32, 3, wrongSteps, 0, 0, 0}};
  m.outputs = wrong;
  CHECK_THAT(layoutError(m), Catch::Contains("no prediction output for its per-step target 'next': an f32 output "
                                             "[batch, 2, classes]"));
}
