// `sinter run`: JIT-compile a trained model and evaluate its weights on a test set, through the runtime's
// evaluation entry (runtime/eval_driver.h), which reads and measures the data as the training driver does.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <fmt/ranges.h>

#include <algorithm>
#include <optional>

#include "runtime/error.h"
#include "runtime/eval_driver.h"
#include "runtime/forward_run.h"
#include "runtime/init.h"
#include "runtime/model_layout.h"
#include "tools/sinter/commands.h"
#include "tools/sinter/jit.h"

namespace sinter::tool {

// Samples a forward pass of a model without a train block takes, unless --batch says.
constexpr int64_t kForwardBatch = 256;

void addRunFlags(CLI::App* cmd, RunOptions& o) {
  cmd->add_option("--load", o.data.loadPath,
                  "Weights to evaluate: a safetensors file of `sinter train --save` (or a checkpoint); an ONNX "
                  "model's default: its initializers")
      ->type_name("FILE");
  cmd->add_option_function<int64_t>(
         "--batch", [&o](const int64_t& n) { o.batch = n; },
         "Samples per forward pass (default: the train block's batch; 256 without a train block)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30))
      ->type_name("N");
  cmd->add_option("--threads", o.data.threads,
                  "Threads for the kernels (default: $SINTER_NUM_THREADS, else every hardware thread); the results do "
                  "not depend on it")
      ->check(CLI::Range(1, 256))
      ->type_name("N");
  cmd->add_option("--predictions", o.predictions,
                  "Write the model's first output besides the loss, for every test sample, to this NPY file "
                  "(float32 [samples, ...])")
      ->type_name("OUT.npy");
  cmd->add_option_function<uint64_t>(
         "--seed", [&o](const uint64_t& s) { o.seed = s; },
         "Seed of --val-split, which --normalize standard needs to fit the statistics "
         "training used (default: the train block's)")
      ->type_name("N");
  cmd->add_flag_callback(
      "--no-ftz", [&o] { o.data.flushDenormals = false; },
      "Keep denormals (default: flush them to zero, as training does)");

  // The data flags come from the training driver's table, so that both read a test set the same way.
  const char* group = "Data (as `sinter train`; the training set is read only for --normalize standard)";
  for (const rt::DataFlag& f : rt::dataFlags()) {
    const std::string name = f.name;
    const bool source = f.source;
    if (f.value.empty()) {
      cmd->add_flag_callback(
             name,
             [&o, name, source] {
               rt::setDataFlag(o.data, name, "");
               o.dataSourceGiven = o.dataSourceGiven || source;
             },
             f.help)
          ->group(group);
      continue;
    }
    auto set = [&o, name, source](const std::string& v) {
      o.dataSourceGiven = o.dataSourceGiven || source;
      if (const std::string expected = rt::setDataFlag(o.data, name, v); !expected.empty())
        throw CLI::ValidationError(name, fmt::format("invalid value '{}': expected {}", v, expected));
    };
    if (f.repeatable) {  // --test-input NAME=FILE, once per input
      cmd->add_option_function<std::vector<std::string>>(
             name, [set](const std::vector<std::string>& vs) { std::for_each(vs.begin(), vs.end(), set); }, f.help)
          ->type_name(f.value)
          ->group(group);
      continue;
    }
    cmd->add_option_function<std::string>(name, set, f.help)->type_name(f.value)->group(group);
  }
}

namespace {

// A model without a train block: its outputs for every sample (runtime/forward_run.h).
int runForwardOnly(const std::string& path, const sinter_model_desc& m, const RunOptions& opts) {
  rt::DriverOptions o = opts.data;
  o.batch = opts.batch.value_or(kForwardBatch);
  // A model whose params all start from given values (an ONNX file's initializers, or ONNX models imported
  // as layers) runs from them.
  bool given = o.loadPath.empty() && (m.num_params == 0 || m.param_init_data);
  for (int32_t i = 0; given && i < m.num_params; ++i) given = m.params[i].init == SINTER_INIT_DATA;
  if (o.loadPath.empty() && !given)
    throw rt::Error(path + ": no weights to run: pass --load FILE (a safetensors file of `sinter train --save`)");
  rt::ParamLoader load;
  if (given) load = [&m](void* const* params) { rt::initParams(m, 0, params); };
  const rt::ForwardReport r = rt::runForward(m, o, load, opts.predictions);
  std::string sources;
  for (const std::string& s : r.sources) sources += (sources.empty() ? "" : ", ") + s;
  fmt::print("running {} (forward only: no train block) on {} samples of {}: batch {}, {} thread{}\n",
             m.name ? m.name : "", r.samples, sources, r.batch, r.threads, r.threads == 1 ? "" : "s");
  for (const rt::ForwardReport::Output& out : r.outputs)
    fmt::print("output      {} [{}] mean {:.6g}\n", out.name, fmt::join(out.shape, ", "), out.mean);
  fmt::print("throughput  {:.0f} samples/s ({:.3f} s)\n", static_cast<double>(r.samples) / std::max(r.seconds, 1e-9),
             r.seconds);
  if (!opts.predictions.empty())
    fmt::print("predictions '{}' [{}] written to {}\n", r.predictionsOutput, fmt::join(r.outputs[0].shape, ", "),
               opts.predictions);
  return 0;
}

}  // namespace

int runModel(const std::string& path, const RunOptions& opts) {
  auto jit = compileJit(path, opts.codegen, /*needsTrain=*/false, "run");
  if (!jit) return 1;
  const sinter_model_desc& m = *jit->descriptor();
  if (!m.has_train) return runForwardOnly(path, m, opts);
  // Defaults the training driver takes from the train block.
  const rt::DriverOptions defaults = rt::defaultOptions(m);
  rt::DriverOptions o = opts.data;
  // The train block's data settings, unless the command line named the data (as the training driver does).
  if (!opts.dataSourceGiven) rt::applyModelData(m, {}, o);
  o.batch = opts.batch.value_or(defaults.batch);
  o.seed = opts.seed.value_or(defaults.seed);
  o.metrics = defaults.metrics;

  const rt::EvalReport r = rt::evaluateTestSet(m, o, opts.predictions);
  fmt::print("evaluating {} on {} samples of {}: batch {}, {} thread{}\n", m.name ? m.name : "", r.samples, r.source,
             r.batch, r.threads, r.threads == 1 ? "" : "s");
  fmt::print("loss        {:.4f}\n", r.loss);
  if (r.accuracyMeasured)  // of the labels: one a sample, or one a token for per-step labels
    fmt::print("accuracy    {:.2f}% ({} of {}{})\n", 100.0 * r.accuracy, r.correct, r.figures.labels,
               r.figures.labels == r.samples ? "" : " tokens");
  for (const rt::MetricName& n : rt::metricNames()) {
    if (!(r.metrics & n.bit) || n.bit == SINTER_METRIC_LOSS || n.bit == SINTER_METRIC_ACCURACY) continue;
    const std::string name = n.bit == SINTER_METRIC_TOP_K ? fmt::format("top-{}", r.topK) : std::string(n.name);
    if (n.percent) fmt::print("{:<11} {:.2f}%\n", name, 100.0 * r.figures.value(n.bit));
    else fmt::print("{:<11} {:.4f}\n", name, r.figures.value(n.bit));
  }
  fmt::print("throughput  {:.0f} samples/s ({:.3f} s)\n", static_cast<double>(r.samples) / std::max(r.seconds, 1e-9),
             r.seconds);
  if (!opts.predictions.empty()) {
    std::string shape;
    for (int64_t d : r.predictionsShape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    fmt::print("predictions '{}' [{}] written to {}\n", r.predictionsOutput, shape, opts.predictions);
  }
  return 0;
}

}  // namespace sinter::tool
