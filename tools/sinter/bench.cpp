// `sinter bench`: JIT-compile a model and time its forward pass and its train step through the C API, on
// random inputs of the model's shapes, with the sampling protocol of tools/benchmarks (model_bench.c), whose
// numbers these match.
#include <fmt/format.h>
#include <sinter/sinter.h>
#include <CLI/CLI.hpp>

#include <memory>
#include <vector>

#include "runtime/metrics.h"
#include "tools/benchmarks/sampling.h"
#include "tools/sinter/commands.h"
#include "tools/sinter/jit.h"

namespace sinter::tool {
namespace {

// The range of integer inputs: class labels index the prediction output (cross_entropy and accuracy read
// them), so they are drawn below its class count; model_bench's guess otherwise (the last extent of the
// first output, else 10).
int64_t labelRange(const sinter_model_desc& m) {
  if (const rt::AccuracyTensors a = rt::findAccuracyTensors(m); a.found()) return a.classes;
  if (m.num_outputs > 0 && m.outputs[0].rank > 0 && m.outputs[0].dims[m.outputs[0].rank - 1] > 0)
    return m.outputs[0].dims[m.outputs[0].rank - 1];
  return 10;
}

// Buffers of every input and output at one batch size. Inputs are random as in model_bench.c (the same
// generator and seed): floats in [0, 1) like normalized pixels, integers in [0, labelRange).
struct Tensors {
  std::vector<std::vector<double>> storage;  // doubles: aligned for f32, f64 and i32 alike
  std::vector<void*> inputs, outputs;

  Tensors(const sinter_model_desc& m, int64_t batch) {
    const int64_t classes = labelRange(m);
    unsigned s = 12345;
    auto buffer = [&](const sinter_tensor_desc& t) {
      storage.emplace_back(static_cast<size_t>(std::max<int64_t>(sinter_tensor_elements(&t, batch), 1)));
      return storage.back().data();
    };
    for (int32_t i = 0; i < m.num_inputs; ++i) {
      const sinter_tensor_desc& t = m.inputs[i];
      void* p = buffer(t);
      for (int64_t k = 0; k < sinter_tensor_elements(&t, batch); ++k) {
        s = s * 1664525u + 1013904223u;
        if (t.dtype == SINTER_I32) static_cast<int32_t*>(p)[k] = static_cast<int32_t>((s >> 8) % classes);
        else if (t.dtype == SINTER_F64) static_cast<double*>(p)[k] = static_cast<double>(s >> 8) / 16777216.0;
        else static_cast<float*>(p)[k] = static_cast<float>(s >> 8) / 16777216.0f;
      }
      inputs.push_back(p);
    }
    for (int32_t i = 0; i < m.num_outputs; ++i) outputs.push_back(buffer(m.outputs[i]));
  }
};

struct Call {
  sinter_instance* instance;
  bool train;
  int64_t batch;
  Tensors* tensors;
};

// One timed call, for take_samples: 1 on success.
int callModel(void* ctx) {
  const Call& c = *static_cast<const Call*>(ctx);
  const sinter_status s =
      c.train ? sinter_train_step(c.instance, c.batch, c.tensors->inputs.data(), nullptr)
              : sinter_forward(c.instance, c.batch, c.tensors->inputs.data(), c.tensors->outputs.data());
  return s == SINTER_OK;
}

}  // namespace

void addBenchFlags(CLI::App* cmd, BenchOptions& o) {
  cmd->add_option_function<int64_t>(
         "--batch", [&o](const int64_t& n) { o.batch = n; },
         "Samples per call (default: the train block's batch, else 64)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->type_name("N");
  cmd->add_option("--threads", o.threads,
                  "Threads for the kernels (default: $SINTER_NUM_THREADS, else every hardware thread)")
      ->check(CLI::Range(1, 256))
      ->type_name("N");
  cmd->add_option("--seconds", o.seconds, "Seconds of samples per mode, after a warm-up of a tenth of that")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str()
      ->type_name("S");
  cmd->add_option("--mode", o.mode,
                  "What to time: forward (sinter_forward), train (sinter_train_step: forward, backward and the "
                  "optimizer's update) or both")
      ->check(CLI::IsMember({"forward", "train", "both"}))
      ->capture_default_str();
}

int runBench(const std::string& path, const BenchOptions& o) {
  JitTimes times;
  auto jit = compileJit(path, o.codegen, /*needsTrain=*/o.mode == "train", "bench --mode train", &times);
  if (!jit) return 1;
  const sinter_model_desc& m = *jit->descriptor();
  const int64_t batch = o.batch.value_or(m.has_train && m.train.batch > 0 ? m.train.batch : 64);
  const int threads = sinter_set_threads(o.threads);
  std::unique_ptr<sinter_instance, decltype(&sinter_destroy)> instance(sinter_create(&m, 1), sinter_destroy);
  if (!instance) {
    fmt::print(stderr, "error: {}: {}\n", path, sinter_last_error(nullptr));
    return 1;
  }
  Tensors tensors(m, batch);

  fmt::print("bench {}: batch {}, {} thread{}, {} s per mode, random inputs\n", m.name ? m.name : "", batch, threads,
             threads == 1 ? "" : "s", o.seconds);
  fmt::print("compile  {:.1f} ms (front end and graph passes {:.1f} ms, LLVM and ORC {:.1f} ms)\n",
             (times.pipeline + times.codegen) * 1e3, times.pipeline * 1e3, times.codegen * 1e3);
  std::fflush(stdout);
  for (const bool train : {false, true}) {
    if (o.mode == (train ? "forward" : "train")) continue;
    if (train && !m.has_train) {
      fmt::print("train    not timed: the model has no train block\n");
      continue;
    }
    // Samples last at least MIN_SAMPLE_US, so this many fit in the budget and the minimum count.
    const long maxSamples = static_cast<long>(o.seconds * 1e6 / MIN_SAMPLE_US) + MIN_SAMPLES + 1;
    std::vector<double> t(static_cast<size_t>(maxSamples));
    Call call{instance.get(), train, batch, &tensors};
    long reps = 1;
    const long n = take_samples(callModel, &call, o.seconds, maxSamples, t.data(), &reps);
    if (n == 0) {
      fmt::print(stderr, "error: {}: {}\n", train ? "sinter_train_step" : "sinter_forward",
                 sinter_last_error(instance.get()));
      return 1;
    }
    const double median = t[n / 2];  // microseconds per call
    fmt::print("{:<8} median {:.3f} ms  p25 {:.3f} ms  p75 {:.3f} ms  {:.0f} samples/s  ({} samples of {} call{})\n",
               train ? "train" : "forward", median / 1e3, t[n / 4] / 1e3, t[3 * n / 4] / 1e3,
               static_cast<double>(batch) * 1e6 / median, n, reps, reps == 1 ? "" : "s");
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace sinter::tool
