// sinter_train_main: the whole training program of a compiled model. Used by ahead-of-time training
// executables (exe_main.c) and in-process by the JIT, so it never exits the process, restores the FPU
// state it changes and reports every failure through its return value.
#include "runtime/checkpoint.h"
#include "runtime/driver_options.h"
#include "runtime/error.h"
#include "runtime/idx_reader.h"
#include "runtime/init.h"
#include "runtime/optimizer.h"

#include <sinter/model_abi.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace sinter::rt {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string str(const char* s) { return s ? s : ""; }

// Flush-to-zero and denormals-are-zero for the duration of training: denormal arithmetic is up to
// 100x slower on x86 and never matters for training. The previous MXCSR comes back on every exit path,
// which matters when the JIT runs the driver inside a host process.
class DenormalGuard {
public:
  explicit DenormalGuard(bool enable) {
#if defined(__x86_64__)
    saved_ = _mm_getcsr();
    if (enable) _mm_setcsr(saved_ | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
#endif
  }
  ~DenormalGuard() {
#if defined(__x86_64__)
    _mm_setcsr(saved_);
#endif
  }
  DenormalGuard(const DenormalGuard&) = delete;
  DenormalGuard& operator=(const DenormalGuard&) = delete;

private:
  unsigned saved_ = 0;
};

size_t dtypeSize(const sinter_tensor_desc& t) {
  switch (t.dtype) {
  case SINTER_F32: return 4;
  case SINTER_F64: return 8;
  case SINTER_I32: return 4;
  default: throw Error("tensor '" + str(t.name) + "' has unknown dtype " + std::to_string(t.dtype));
  }
}

// Elements of t when the batch symbol (the only one) is `batch`.
int64_t elementCount(const sinter_tensor_desc& t, int64_t batch) {
  int64_t n = 1;
  for (int32_t i = 0; i < t.rank; ++i) n *= t.dims[i] < 0 ? batch : t.dims[i];
  return n;
}

// Zero-filled storage for one buffer; operator new[] aligns it for every dtype.
using Storage = std::unique_ptr<std::byte[]>;
Storage allocate(size_t bytes) { return Storage(new std::byte[std::max<size_t>(bytes, 1)]()); }

// Which tensors of the model the driver feeds and reads. Validated once, before any data is read.
struct Layout {
  int32_t imageInput = -1, labelInput = -1;
  int64_t features = 1;  // product of the image input's non-batch dims
  int32_t predOutput = -1;
  int64_t classes = 0;
  std::vector<int64_t> paramSizes;
};

Layout checkModel(const sinter_model_desc& m) {
  const std::string model = "model '" + str(m.name) + "'";
  if (m.abi_version != SINTER_ABI_VERSION)
    throw Error(model + " was compiled for ABI version " + std::to_string(m.abi_version) + ", this runtime is " +
                std::to_string(SINTER_ABI_VERSION));
  if (!m.has_train || !m.train_step || m.loss_output < 0 || m.loss_output >= m.num_outputs)
    throw Error(model + " has no train block: nothing to train");
  if (!m.forward) throw Error(model + " has no forward entry point");
  if (m.num_syms != 1)
    throw Error(model + " has " + std::to_string(m.num_syms) +
                " symbolic dimensions; the training driver supports exactly one, the batch");
  auto symbolic = [](const sinter_tensor_desc& t, int32_t i) { return t.dims[i] < 0; };
  auto checkDims = [&](const sinter_tensor_desc& t, const char* what) {
    dtypeSize(t);
    for (int32_t i = 0; i < t.rank; ++i)
      if (t.dims[i] < -1)
        throw Error(what + std::string(" '") + str(t.name) + "' uses an unknown symbolic dimension");
  };

  Layout l;
  for (int32_t i = 0; i < m.num_inputs; ++i) {
    const sinter_tensor_desc& t = m.inputs[i];
    checkDims(t, "input");
    const bool batchFirst = t.rank >= 1 && symbolic(t, 0);
    bool restFixed = true;
    for (int32_t d = 1; d < t.rank; ++d) restFixed = restFixed && !symbolic(t, d);
    if (t.dtype == SINTER_F32 && batchFirst && restFixed && l.imageInput < 0) {
      l.imageInput = i;
      for (int32_t d = 1; d < t.rank; ++d) l.features *= t.dims[d];
    } else if (t.dtype == SINTER_I32 && t.rank == 1 && batchFirst && l.labelInput < 0) {
      l.labelInput = i;
    } else {
      throw Error(model + ": input '" + str(t.name) +
                  "' is not what the training driver feeds: it needs exactly one f32 input [batch, ...] "
                  "(the samples) and one i32 input [batch] (the labels)");
    }
  }
  if (l.imageInput < 0 || l.labelInput < 0)
    throw Error(model + " needs one f32 input [batch, ...] (the samples) and one i32 input [batch] (the labels)");

  for (int32_t i = 0; i < m.num_params; ++i) {
    const sinter_tensor_desc& t = m.params[i];
    if (t.dtype != SINTER_F32) throw Error(model + ": param '" + str(t.name) + "' is not f32");
    l.paramSizes.push_back(fixedElementCount(t));
  }

  for (int32_t i = 0; i < m.num_outputs; ++i) {
    const sinter_tensor_desc& t = m.outputs[i];
    checkDims(t, "output");
    if (i == m.loss_output) {
      if (t.dtype != SINTER_F32 || elementCount(t, 0) != 1 || elementCount(t, 2) != 1)
        throw Error(model + ": loss output '" + str(t.name) + "' is not one f32 value");
    } else if (l.predOutput < 0 && t.dtype == SINTER_F32 && t.rank == 2 && symbolic(t, 0) && t.dims[1] > 0) {
      l.predOutput = i;
      l.classes = t.dims[1];
    }
  }
  if (l.predOutput < 0) throw Error(model + " has no prediction output: an f32 output [batch, classes]");
  return l;
}

// One split of the data: u8 samples and labels, checked against the model.
struct Split {
  IdxData images, labels;
  int64_t n = 0;
};

Split loadSplit(const sinter_model_desc& m, const Layout& l, const std::string& imagesPath,
                const std::string& labelsPath, int64_t limit) {
  Split s;
  s.images = readIdx(imagesPath);
  s.labels = readIdx(labelsPath);
  const std::vector<int64_t>& d = s.images.dims;
  if (d.size() < 2) throw Error(imagesPath + ": expected samples [n, rows, cols], the file has 1 dimension");
  if (s.labels.dims.size() != 1)
    throw Error(labelsPath + ": expected labels [n], the file has " + std::to_string(s.labels.dims.size()) +
                " dimensions");
  int64_t features = 1;
  std::string shape;
  for (size_t i = 1; i < d.size(); ++i) {
    features *= d[i];
    shape += (i > 1 ? "x" : "") + std::to_string(d[i]);
  }
  if (features != l.features)
    throw Error("model input '" + str(m.inputs[l.imageInput].name) + "' takes " + std::to_string(l.features) +
                " features per sample, data " + imagesPath + " has " + shape + "=" + std::to_string(features));
  if (d[0] != s.labels.dims[0])
    throw Error(imagesPath + " has " + std::to_string(d[0]) + " samples but " + labelsPath + " has " +
                std::to_string(s.labels.dims[0]) + " labels");
  s.n = limit > 0 ? std::min(limit, d[0]) : d[0];
  if (s.n == 0) throw Error(imagesPath + " holds no samples");
  for (int64_t i = 0; i < s.n; ++i)
    if (s.labels.data[i] >= l.classes)
      throw Error(labelsPath + ": label " + std::to_string(s.labels.data[i]) + " of sample " + std::to_string(i) +
                  " is out of range: model output '" + str(m.outputs[l.predOutput].name) + "' has " +
                  std::to_string(l.classes) + " classes");
  return s;
}

// Uniform in [0, n) by rejection: the standard distributions are implementation-defined, and the
// shuffle must be the same everywhere for a given seed.
uint64_t uniformBelow(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do x = rng();
  while (x >= limit);
  return x % n;
}

void shuffle(std::vector<int64_t>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[uniformBelow(rng, i)]);
}

// Buffers of the model's inputs, params, outputs, loss and grads, sized for the largest batch.
struct Buffers {
  std::vector<Storage> inputs, params, outputs, grads;
  Storage loss = allocate(sizeof(float));
  std::vector<void*> forwardArgs, trainArgs;
  std::vector<float*> paramPtrs, gradPtrs;

  float* images(const Layout& l) { return reinterpret_cast<float*>(inputs[l.imageInput].get()); }
  int32_t* labels(const Layout& l) { return reinterpret_cast<int32_t*>(inputs[l.labelInput].get()); }
  const float* output(int32_t i) { return reinterpret_cast<const float*>(outputs[i].get()); }
};

Buffers makeBuffers(const sinter_model_desc& m, const Layout& l, int64_t maxBatch) {
  Buffers b;
  auto make = [&](const sinter_tensor_desc& t) { return allocate(elementCount(t, maxBatch) * dtypeSize(t)); };
  for (int32_t i = 0; i < m.num_inputs; ++i) b.inputs.push_back(make(m.inputs[i]));
  for (int32_t i = 0; i < m.num_params; ++i) {
    b.params.push_back(make(m.params[i]));
    b.grads.push_back(make(m.params[i]));
    b.paramPtrs.push_back(reinterpret_cast<float*>(b.params.back().get()));
    b.gradPtrs.push_back(reinterpret_cast<float*>(b.grads.back().get()));
  }
  for (int32_t i = 0; i < m.num_outputs; ++i) b.outputs.push_back(make(m.outputs[i]));
  // forward: inputs..., params..., outputs...; train_step: inputs..., params..., loss, grads...
  for (auto& s : b.inputs) b.forwardArgs.push_back(s.get());
  for (auto& s : b.params) b.forwardArgs.push_back(s.get());
  b.trainArgs = b.forwardArgs;
  for (auto& s : b.outputs) b.forwardArgs.push_back(s.get());
  b.trainArgs.push_back(b.loss.get());
  for (auto& s : b.grads) b.trainArgs.push_back(s.get());
  return b;
}

// Copies samples order[first..first+count) of s (samples first.. without an order) into the input
// buffers, pixels scaled to [0, 1] as torchvision's ToTensor does.
void gather(const Split& s, const Layout& l, const int64_t* order, int64_t first, int64_t count, Buffers& b) {
  float* x = b.images(l);
  int32_t* y = b.labels(l);
  const int64_t f = l.features;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k = order ? order[first + i] : first + i;
    const uint8_t* src = s.images.data.data() + k * f;
    for (int64_t j = 0; j < f; ++j) x[i * f + j] = static_cast<float>(src[j]) / 255.0f;
    y[i] = s.labels.data[k];
  }
}

struct Eval {
  double loss = 0, accuracy = 0;
};

Eval evaluate(const sinter_model_desc& m, const Layout& l, const Split& test, int64_t batch, Buffers& b) {
  double lossSum = 0;
  int64_t correct = 0;
  for (int64_t first = 0; first < test.n; first += batch) {
    const int64_t bs = std::min(batch, test.n - first);
    gather(test, l, nullptr, first, bs, b);
    const int64_t sym = bs;
    m.forward(b.forwardArgs.data(), &sym);
    lossSum += static_cast<double>(b.output(m.loss_output)[0]) * static_cast<double>(bs);
    const float* pred = b.output(l.predOutput);
    const int32_t* y = b.labels(l);
    for (int64_t i = 0; i < bs; ++i) {
      const float* row = pred + i * l.classes;
      const int64_t arg = std::max_element(row, row + l.classes) - row;
      correct += arg == y[i];
    }
  }
  return {lossSum / static_cast<double>(test.n), static_cast<double>(correct) / static_cast<double>(test.n)};
}

std::string formatDuration(double s) {
  const int64_t t = static_cast<int64_t>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                  static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(t / 60), static_cast<long long>(t % 60));
  return buf;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

int run(const sinter_model_desc& m, const DriverOptions& o) {
  const Layout l = checkModel(m);
  if (o.epochs < 1) throw Error("the number of epochs must be >= 1 (pass --epochs)");
  if (o.batch < 1) throw Error("the batch size must be >= 1 (pass --batch)");
  // Fail before training, not after the first epoch, when the checkpoint cannot be written.
  if (!o.savePath.empty()) {
    const std::filesystem::path dir = std::filesystem::path(o.savePath).parent_path();
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec))
      throw Error("cannot save to " + o.savePath + ": directory " + dir.string() + " does not exist");
  }

  const Split train = loadSplit(m, l, dataFile(o, o.trainImages, "train-images-idx3-ubyte.gz"),
                                dataFile(o, o.trainLabels, "train-labels-idx1-ubyte.gz"), o.limitTrain);
  const Split test = loadSplit(m, l, dataFile(o, o.testImages, "t10k-images-idx3-ubyte.gz"),
                               dataFile(o, o.testLabels, "t10k-labels-idx1-ubyte.gz"), o.limitTest);

  std::unique_ptr<std::FILE, FileCloser> metrics;
  if (!o.metricsPath.empty()) {
    metrics.reset(std::fopen(o.metricsPath.c_str(), "w"));
    if (!metrics) throw Error("cannot write metrics to " + o.metricsPath + ": " + std::strerror(errno));
  }

  const int64_t maxBatch = std::min(o.batch, std::max(train.n, test.n));
  Buffers b = makeBuffers(m, l, maxBatch);
  if (!o.loadPath.empty())
    loadCheckpoint(o.loadPath, m, b.paramPtrs.data());
  else
    initParams(m, o.seed, b.paramPtrs.data());

  sinter_train_config config = m.train;
  config.lr = o.lr;
  std::unique_ptr<Optimizer> opt = Optimizer::create(config, l.paramSizes);

  // A stream distinct from the initialization's, so that --load does not change the shuffle.
  std::mt19937_64 shuffleRng(o.seed ^ 0x9e3779b97f4a7c15ull);
  std::vector<int64_t> order(static_cast<size_t>(train.n));
  std::iota(order.begin(), order.end(), int64_t{0});
  const int64_t steps = (train.n + o.batch - 1) / o.batch;
  const bool progress = !o.quiet && isatty(fileno(stderr));

  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
    shuffle(order, shuffleRng);
    const Clock::time_point start = Clock::now();
    Clock::time_point lastDraw = start;
    double lossSum = 0;
    int64_t seen = 0;
    for (int64_t step = 0; step < steps; ++step) {
      const int64_t first = step * o.batch, bs = std::min(o.batch, train.n - first);
      gather(train, l, order.data(), first, bs, b);
      const int64_t sym = bs;
      m.train_step(b.trainArgs.data(), &sym);
      const float loss = *reinterpret_cast<const float*>(b.loss.get());
      if (!std::isfinite(loss)) {
        if (progress) std::fputs("\r\x1b[K", stderr);
        std::fprintf(stderr, "error: loss became NaN/inf at epoch %lld step %lld\n", static_cast<long long>(epoch),
                     static_cast<long long>(step + 1));
        return 1;
      }
      opt->step(b.paramPtrs.data(), b.gradPtrs.data());
      lossSum += static_cast<double>(loss) * static_cast<double>(bs);
      seen += bs;
      if (progress && (secondsSince(lastDraw) >= 0.1 || step + 1 == steps)) {
        lastDraw = Clock::now();
        const double elapsed = secondsSince(start);
        const double rate = static_cast<double>(seen) / std::max(elapsed, 1e-9);
        std::fprintf(stderr, "\repoch %lld/%lld  step %lld/%lld  loss %.4f  %.0f samples/s  ETA %s\x1b[K",
                     static_cast<long long>(epoch), static_cast<long long>(o.epochs),
                     static_cast<long long>(step + 1), static_cast<long long>(steps), lossSum / seen, rate,
                     formatDuration(static_cast<double>(train.n - seen) / rate).c_str());
        std::fflush(stderr);
      }
    }
    const double seconds = secondsSince(start);
    if (progress) std::fputs("\r\x1b[K", stderr);
    const double trainLoss = lossSum / static_cast<double>(train.n);
    const double rate = static_cast<double>(train.n) / std::max(seconds, 1e-9);
    const Eval e = evaluate(m, l, test, maxBatch, b);

    if (!o.quiet) {
      std::printf("epoch %lld/%lld  train_loss %.4f  test_loss %.4f  test_acc %.2f%%  %.1fs  %.0f samples/s\n",
                  static_cast<long long>(epoch), static_cast<long long>(o.epochs), trainLoss, e.loss,
                  100.0 * e.accuracy, seconds, rate);
      std::fflush(stdout);
    }
    if (metrics) {
      const nlohmann::ordered_json line = {{"epoch", epoch},         {"train_loss", trainLoss},
                                   {"test_loss", e.loss},    {"test_accuracy", e.accuracy},
                                   {"seconds", seconds},     {"samples_per_second", rate}};
      const std::string text = line.dump() + "\n";
      if (std::fputs(text.c_str(), metrics.get()) < 0 || std::fflush(metrics.get()) != 0)
        throw Error("cannot write metrics to " + o.metricsPath + ": " + std::strerror(errno));
    }
    if (!o.savePath.empty()) saveCheckpoint(o.savePath, m, b.paramPtrs.data());
  }
  if (!o.savePath.empty() && !o.quiet) std::printf("saved weights to %s\n", o.savePath.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace
}  // namespace sinter::rt

extern "C" int sinter_train_main(const sinter_model_desc* model, int argc, char** argv) {
  using namespace sinter::rt;
  // Nothing may escape into C code, the JIT's host included: every failure becomes a status.
  try {
    if (!model) {
      std::fputs("error: no model descriptor\n", stderr);
      return 1;
    }
    DriverOptions opts = defaultOptions(*model);
    switch (parseOptions(*model, argc, argv, opts, std::cout, std::cerr)) {
    case ParseResult::Help: std::cout.flush(); return 0;
    case ParseResult::Error: return 2;
    case ParseResult::Run: break;
    }
    DenormalGuard ftz(opts.flushDenormals);
    return run(*model, opts);
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fputs("error: out of memory\n", stderr);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (...) {
    std::fputs("error: unexpected exception\n", stderr);
  }
  return 1;
}
