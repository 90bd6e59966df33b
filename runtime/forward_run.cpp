#include "runtime/forward_run.h"

#include "runtime/checkpoint.h"
#include "runtime/denormals.h"
#include "runtime/error.h"
#include "runtime/idx_reader.h"
#include "runtime/model_layout.h"
#include "runtime/npy_reader.h"
#include "runtime/npy_writer.h"
#include "runtime/parallel.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>

namespace sinter::rt {
namespace {

std::string str(const char* s) { return s ? s : ""; }

// How the model is batched: its one symbolic dimension, or a fixed first dimension shared by every input.
struct Batching {
  bool symbolic = true;
  int64_t fixed = 0;  // the batch of a model without symbolic dimensions
};

Batching checkBatching(const sinter_model_desc& m) {
  const std::string model = "model '" + str(m.name) + "'";
  if (m.num_syms > 1)
    throw Error(model + " has " + std::to_string(m.num_syms) +
                " symbolic dimensions: `sinter run` feeds models whose only one is the batch");
  if (m.num_inputs < 1) throw Error(model + " has no input to feed");
  Batching b{m.num_syms == 1, 0};
  for (int32_t i = 0; i < m.num_inputs; ++i) {
    const sinter_tensor_desc& t = m.inputs[i];
    bool ok = t.rank >= 1 && (t.dtype == SINTER_F32 || t.dtype == SINTER_F64 || t.dtype == SINTER_I32);
    for (int32_t d = 1; ok && d < t.rank; ++d) ok = t.dims[d] >= 0;
    if (ok && !b.symbolic) {
      b.fixed = b.fixed == 0 ? t.dims[0] : b.fixed;
      ok = t.dims[0] == b.fixed && b.fixed > 0;
    }
    if (ok && b.symbolic) ok = t.dims[0] < 0;
    if (!ok)
      throw Error(model + ": input '" + str(t.name) +
                  "' is not [batch, ...] (f32, f64 or i32, the batch first, every other dimension fixed)");
  }
  return b;
}

// One input's values for every sample, n x width, as floats (integers up to 2^24 exactly).
struct Column {
  std::string source;
  int64_t n = 0, width = 1;
  std::vector<float> values;
};

Column readColumn(const std::string& file, bool scalePixels) {
  Column c;
  c.source = file;
  std::vector<int64_t> shape;
  if (file.ends_with(".npy")) {
    NpyArray a = readNpy(file);
    shape = std::move(a.shape);
    c.values = std::move(a.values);
  } else {
    IdxData a = readIdx(file);
    shape = std::move(a.dims);
    c.values.reserve(a.data.size());
    for (uint8_t v : a.data) c.values.push_back(scalePixels ? static_cast<float>(v) / 255.0f : static_cast<float>(v));
  }
  if (shape.empty()) throw Error(file + ": a scalar, not samples [n, ...]");
  c.n = shape[0];
  c.width = c.n == 0 ? 0 : static_cast<int64_t>(c.values.size()) / c.n;
  return c;
}

// The file of each input: --test-input NAME=FILE, else (the first input) the test images.
std::vector<Column> readInputs(const sinter_model_desc& m, const DriverOptions& o) {
  std::map<std::string, std::string> named;
  for (const std::string& v : o.testInputs) {
    const size_t eq = v.find('=');
    const std::string name = v.substr(0, eq);
    if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
      throw Error("--test-input: '" + v + "' is not NAME=FILE");
    bool known = false;
    for (int32_t i = 0; i < m.num_inputs; ++i) known = known || str(m.inputs[i].name) == name;
    if (!known) {
      std::string names;
      for (int32_t i = 0; i < m.num_inputs; ++i) names += (i ? ", " : "") + str(m.inputs[i].name);
      throw Error("--test-input: model '" + str(m.name) + "' has no input '" + name + "' (its inputs: " + names + ")");
    }
    named[name] = v.substr(eq + 1);
  }
  std::vector<Column> cols;
  for (int32_t i = 0; i < m.num_inputs; ++i) {
    const sinter_tensor_desc& t = m.inputs[i];
    const auto it = named.find(str(t.name));
    if (it == named.end() && i > 0)
      throw Error("model input '" + str(t.name) + "' has no data: pass --test-input " + str(t.name) + "=FILE");
    Column c = it != named.end() ? readColumn(it->second, false)
                                 : readColumn(dataFile(o, o.testImages, "t10k-images-idx3-ubyte.gz"), true);
    if (o.limitTest > 0 && o.limitTest < c.n) {
      c.n = o.limitTest;
      c.values.resize(static_cast<size_t>(c.n * c.width));
    }
    const int64_t width = elementCount(t, 1) / std::max<int64_t>(t.dims[0] < 0 ? 1 : t.dims[0], 1);
    if (c.width != width)
      throw Error(c.source + ": " + std::to_string(c.width) + " values a sample, but model input '" + str(t.name) +
                  "' takes " + std::to_string(width));
    if (!cols.empty() && c.n != cols[0].n)
      throw Error(c.source + " holds " + std::to_string(c.n) + " samples, " + cols[0].source + " " +
                  std::to_string(cols[0].n));
    cols.push_back(std::move(c));
  }
  if (cols[0].n == 0) throw Error(cols[0].source + " holds no samples");
  return cols;
}

// Samples [first, first + count) of a column into an input buffer of `dtype`; the rest of the batch is zero.
void feed(const Column& c, int64_t first, int64_t count, int64_t batch, int32_t dtype, void* out) {
  const size_t k0 = static_cast<size_t>(first * c.width), len = static_cast<size_t>(count * c.width);
  const size_t all = static_cast<size_t>(batch * c.width);
  for (size_t k = 0; k < all; ++k) {
    const float v = k < len ? c.values[k0 + k] : 0.0f;
    if (dtype == SINTER_F32) static_cast<float*>(out)[k] = v;
    else if (dtype == SINTER_F64) static_cast<double*>(out)[k] = v;
    else static_cast<int32_t*>(out)[k] = static_cast<int32_t>(v);
  }
}

bool perSample(const sinter_tensor_desc& t, const Batching& b) {
  if (t.rank < 1 || (t.dtype != SINTER_F32 && t.dtype != SINTER_F64)) return false;
  if (b.symbolic ? t.dims[0] >= 0 : t.dims[0] != b.fixed) return false;
  for (int32_t d = 1; d < t.rank; ++d)
    if (t.dims[d] < 0) return false;
  return true;
}

// --predictions writes the first output: it must hold values per sample, and its directory must exist.
void checkPredictions(const sinter_model_desc& m, const Batching& batching, const std::string& predictionsPath) {
  if (predictionsPath.empty()) return;
  const std::filesystem::path dir = std::filesystem::path(predictionsPath).parent_path();
  std::error_code ec;
  if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
    throw Error("--predictions: directory " + dir.string() + " does not exist");
  if (!perSample(m.outputs[0], batching))
    throw Error("--predictions: output '" + str(m.outputs[0].name) + "' of model '" + str(m.name) +
                "' is not a floating tensor [batch, ...] with fixed other dimensions: it has no values per sample");
}

// A per-sample output's shape [samples, ...] and mean.
ForwardReport::Output summarize(const sinter_tensor_desc& t, int64_t samples, const std::vector<double>& values) {
  ForwardReport::Output out;
  out.name = str(t.name);
  out.shape = {samples};
  for (int32_t d = 1; d < t.rank; ++d) out.shape.push_back(t.dims[d]);
  double sum = 0;
  for (double v : values) sum += v;
  out.mean = values.empty() ? 0 : sum / static_cast<double>(values.size());
  return out;
}

}  // namespace

ForwardReport runForward(const sinter_model_desc& m, const DriverOptions& o, const ParamLoader& loadParams,
                         const std::string& predictionsPath) {
  const Batching batching = checkBatching(m);
  checkPredictions(m, batching, predictionsPath);
  const std::vector<Column> cols = readInputs(m, o);
  ForwardReport r;
  r.samples = cols[0].n;
  for (const Column& c : cols) r.sources.push_back(c.source);
  r.batch = batching.symbolic ? std::min(std::max<int64_t>(o.batch, 1), r.samples) : batching.fixed;

  // Buffers in forward's order: inputs..., params..., outputs...
  std::vector<Storage> storage;
  std::vector<void*> args;
  auto add = [&](const sinter_tensor_desc& t, int64_t batch) {
    storage.push_back(allocate(static_cast<size_t>(elementCount(t, batch)) * dtypeSize(t)));
    args.push_back(storage.back().get());
  };
  for (int32_t i = 0; i < m.num_inputs; ++i) add(m.inputs[i], r.batch);
  for (int32_t i = 0; i < m.num_params; ++i) add(m.params[i], r.batch);
  for (int32_t i = 0; i < m.num_outputs; ++i) add(m.outputs[i], r.batch);
  void* const* params = args.data() + m.num_inputs;
  if (!o.loadPath.empty()) loadCheckpoint(o.loadPath, m, params);
  else if (loadParams) loadParams(params);
  else throw Error("no weights: pass --load FILE");

  // Every per-sample output, gathered as doubles for the report and the predictions file.
  std::vector<std::vector<double>> values(static_cast<size_t>(m.num_outputs));
  std::vector<int64_t> widths(static_cast<size_t>(m.num_outputs), 0);
  for (int32_t i = 0; i < m.num_outputs; ++i)
    if (perSample(m.outputs[i], batching))
      widths[i] = elementCount(m.outputs[i], 1) / std::max<int64_t>(1, batching.fixed);

  setThreads(static_cast<int>(o.threads));
  installParallelFor(m);
  r.threads = threads();
  {
    DenormalGuard ftz(o.flushDenormals);
    const auto start = std::chrono::steady_clock::now();
    for (int64_t first = 0; first < r.samples; first += r.batch) {
      const int64_t count = std::min(r.batch, r.samples - first);
      const int64_t batch = batching.symbolic ? count : r.batch;
      for (int32_t i = 0; i < m.num_inputs; ++i) feed(cols[i], first, count, batch, m.inputs[i].dtype, args[i]);
      const int64_t syms[2] = {batch, 0};
      m.forward(args.data(), syms);
      for (int32_t i = 0; i < m.num_outputs; ++i) {
        const void* out = args[args.size() - static_cast<size_t>(m.num_outputs) + static_cast<size_t>(i)];
        for (int64_t k = 0; k < count * widths[i]; ++k) values[i].push_back(floatAt(out, m.outputs[i].dtype, k));
      }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  for (int32_t i = 0; i < m.num_outputs; ++i)
    if (widths[i] > 0) r.outputs.push_back(summarize(m.outputs[i], r.samples, values[i]));
  if (!predictionsPath.empty()) {
    r.predictionsOutput = str(m.outputs[0].name);
    writeNpy(predictionsPath, r.outputs[0].shape, std::vector<float>(values[0].begin(), values[0].end()));
  }
  return r;
}

}  // namespace sinter::rt
