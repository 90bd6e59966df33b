// sinter_train_main: the whole training program of a compiled model. Used by ahead-of-time training
// executables (exe_main.c) and in-process by the JIT, so it never exits the process, restores the FPU
// state and signal handlers it changes and reports every failure through its return value.
#include "runtime/checkpoint.h"
#include "runtime/denormals.h"
#include "runtime/driver_options.h"
#include "runtime/error.h"
#include "runtime/init.h"
#include "runtime/metrics.h"
#include "runtime/model_layout.h"
#include "runtime/optimizer.h"
#include "runtime/parallel.h"
#include "runtime/splits.h"

#include <sinter/model_abi.h>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace sinter::rt {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string str(const char* s) { return s ? s : ""; }

// SIGINT and SIGTERM only set a flag while training runs; the loop checks it between steps, writes a
// checkpoint and returns. The previous handlers come back on return (the JIT's host keeps its own).
volatile std::sig_atomic_t gSignal = 0;
extern "C" void onSignal(int sig) { gSignal = sig; }

class SignalGuard {
 public:
  SignalGuard() {
    gSignal = 0;
    struct sigaction sa {};
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &oldInt_);
    sigaction(SIGTERM, &sa, &oldTerm_);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &oldInt_, nullptr);
    sigaction(SIGTERM, &oldTerm_, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction oldInt_ {
  }, oldTerm_{};
};

// sym_dims of an evaluation call: the batch (the one symbol), then the seed slot, unused outside training.
std::array<int64_t, 2> evalSymbols(int64_t batch) { return {batch, 0}; }

std::string formatDuration(double s) {
  const int64_t t = static_cast<int64_t>(s + 0.5);
  char buf[48];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                  static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(t / 60), static_cast<long long>(t % 60));
  return buf;
}

// The first non-finite element of n values of `dtype` (f32 or f64), or -1.
int64_t firstNonFinite(const void* p, int32_t dtype, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(floatAt(p, dtype, i))) return i;
  return -1;
}

std::string valueName(double v) { return std::isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf"; }

// After a non-finite loss or gradient: names the first tensor, in data-flow order, that holds a
// non-finite value: the batch's samples, the params, the forward outputs, the loss, the gradients.
std::string diagnoseNonFinite(const sinter_model_desc& m, const Layout& l, Buffers& b, int64_t bs) {
  auto report = [](const std::string& what, const sinter_tensor_desc& t, const void* p, int64_t n) -> std::string {
    const int64_t k = firstNonFinite(p, t.dtype, n);
    if (k < 0) return "";
    return what + " '" + str(t.name) + "' holds " + valueName(floatAt(p, t.dtype, k)) + " (element " +
           std::to_string(k) + ")";
  };
  const sinter_tensor_desc& x = m.inputs[l.imageInput];
  if (auto s = report("input", x, b.images(l), elementCount(x, bs)); !s.empty()) return s;
  for (int32_t i = 0; i < m.num_params; ++i)
    if (auto s = report("param", m.params[i], b.paramPtrs[i], l.paramSizes[i]); !s.empty()) return s;
  m.forward(b.forwardArgs.data(), evalSymbols(bs).data());
  for (int32_t i = 0; i < m.num_outputs; ++i) {
    const sinter_tensor_desc& t = m.outputs[i];
    if (t.dtype != SINTER_F32 && t.dtype != SINTER_F64) continue;
    if (auto s = report(i == m.loss_output ? "loss" : "output", t, b.outputs[i].get(), elementCount(t, bs)); !s.empty())
      return s;
  }
  if (!std::isfinite(b.lossValue())) return "the loss is " + valueName(b.lossValue());
  for (int32_t i = 0; i < m.num_params; ++i)
    if (auto s = report("the gradient of param", m.params[i], b.gradPtrs[i], l.paramSizes[i]); !s.empty()) return s;
  return "a value inside the train step";
}

// Where a run is: the position and the running sums of the epoch in progress. Saved in checkpoints.
struct Position {
  int64_t epoch = 0;      // from 0: the epoch in progress
  int64_t epochStep = 0;  // optimizer steps done in it
  double lossSum = 0;
  int64_t seen = 0, correct = 0;
};

std::string hexDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

class Trainer {
 public:
  Trainer(const sinter_model_desc& m, const DriverOptions& o) : m_(m), o_(o), l_(checkModel(m)) {}

  int run();

 private:
  std::string checkpointPath() const {
    return (std::filesystem::path(o_.checkpointDir) / "checkpoint.safetensors").string();
  }

  CheckpointExtras extras(const Position& p) {
    CheckpointExtras x;
    for (const StateBuffer& s : opt_->state()) {
      const sinter_tensor_desc& t = m_.params[s.param];
      x.tensors.push_back(
          {"optimizer/" + s.name + "/" + str(t.name), std::vector<int64_t>(t.dims, t.dims + t.rank), s.data, s.dtype});
    }
    x.metadata = {{"sinter_epoch", std::to_string(p.epoch)},
                  {"sinter_epoch_step", std::to_string(p.epochStep)},
                  {"sinter_step", std::to_string(opt_->steps())},
                  {"sinter_optimizer", std::to_string(m_.train.optimizer)},
                  {"sinter_seed", std::to_string(o_.seed)},
                  {"sinter_batch", std::to_string(o_.batch)},
                  {"sinter_train_samples", std::to_string(data_.train.n)},
                  {"sinter_loss_sum", hexDouble(p.lossSum)},
                  {"sinter_seen", std::to_string(p.seen)},
                  {"sinter_correct", std::to_string(p.correct)}};
    return x;
  }

  // Writes the training checkpoint, refusing params that went non-finite so that the last good one stays.
  void checkpoint(const Position& p) {
    if (o_.checkpointDir.empty()) return;
    for (int32_t i = 0; i < m_.num_params; ++i)
      if (const int64_t k = firstNonFinite(b_.paramPtrs[i], l_.dtype, l_.paramSizes[i]); k >= 0)
        throw Error("param '" + str(m_.params[i].name) + "' became " +
                    valueName(floatAt(b_.paramPtrs[i], l_.dtype, k)) + " by step " + std::to_string(opt_->steps()) +
                    "; the last good checkpoint " + checkpointPath() + " is kept");
    const CheckpointExtras x = extras(p);
    saveCheckpoint(checkpointPath(), m_, b_.paramPtrs.data(), &x);
  }

  Position resume() {
    const std::string path = checkpointPath();
    if (!std::filesystem::exists(path)) throw Error("--resume: no checkpoint " + path + " to resume from");
    CheckpointExtras x = extras({});
    std::map<std::string, std::string> meta = loadCheckpoint(path, m_, b_.paramPtrs.data(), &x);
    auto get = [&](const char* key) -> std::string {
      const auto it = meta.find(key);
      if (it == meta.end())
        throw Error("checkpoint " + path + " lacks metadata '" + key + "': not a training checkpoint");
      return it->second;
    };
    auto num = [&](const char* key) {
      try {
        return std::stoll(get(key));
      } catch (const std::logic_error&) {
        throw Error("checkpoint " + path + ": metadata '" + key + "' is not a number: " + get(key));
      }
    };
    auto same = [&](const char* key, int64_t now, const char* flag) {
      if (num(key) != now)
        throw Error("checkpoint " + path + " was written with " + flag + " " + get(key) + ", this run has " +
                    std::to_string(now) + "; resume with the same " + flag);
    };
    if (std::stoull(get("sinter_seed")) != o_.seed)
      throw Error("checkpoint " + path + " was written with --seed " + get("sinter_seed") + ", this run has " +
                  std::to_string(o_.seed) + "; resume with the same --seed");
    same("sinter_batch", o_.batch, "--batch");
    same("sinter_optimizer", m_.train.optimizer, "optimizer (kind)");
    same("sinter_train_samples", data_.train.n, "number of training samples (--limit-train, --val-split)");
    Position p;
    p.epoch = num("sinter_epoch");
    p.epochStep = num("sinter_epoch_step");
    p.seen = num("sinter_seen");
    p.correct = num("sinter_correct");
    p.lossSum = std::strtod(get("sinter_loss_sum").c_str(), nullptr);
    opt_->setSteps(num("sinter_step"));
    return p;
  }

  // Keeps the metrics lines of epochs before `epoch` (from 1) when resuming, so that no epoch appears twice.
  void openMetrics(int64_t completedEpochs) {
    if (o_.metricsPath.empty()) return;
    std::string kept;
    if (o_.resume) {
      std::ifstream in(o_.metricsPath);
      for (std::string line; std::getline(in, line);) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.contains("epoch") && j["epoch"].is_number() &&
            j["epoch"].get<int64_t>() <= completedEpochs)
          kept += line + "\n";
      }
    }
    metrics_.reset(std::fopen(o_.metricsPath.c_str(), "w"));
    if (!metrics_ || std::fputs(kept.c_str(), metrics_.get()) < 0)
      throw Error("cannot write metrics to " + o_.metricsPath + ": " + std::strerror(errno));
  }

  void writeMetrics(const nlohmann::ordered_json& line) {
    if (!metrics_) return;
    const std::string text = line.dump() + "\n";
    if (std::fputs(text.c_str(), metrics_.get()) < 0 || std::fflush(metrics_.get()) != 0)
      throw Error("cannot write metrics to " + o_.metricsPath + ": " + std::strerror(errno));
  }

  void drawProgress(const Position& p, int64_t steps, int64_t epochSeen, Clock::time_point start) {
    const double elapsed = secondsSince(start);
    const double rate = static_cast<double>(epochSeen) / std::max(elapsed, 1e-9);
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(kWidth * p.epochStep / std::max<int64_t>(steps, 1));
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>', bar.append(static_cast<size_t>(kWidth - filled - 1), ' ');
    std::fprintf(stderr, "\r[%s] epoch %lld/%lld  step %lld/%lld  loss %.4f  %.0f samples/s  ETA %s\x1b[K", bar.c_str(),
                 static_cast<long long>(p.epoch + 1), static_cast<long long>(o_.epochs),
                 static_cast<long long>(p.epochStep), static_cast<long long>(steps),
                 p.seen ? p.lossSum / static_cast<double>(p.seen) : 0.0, rate,
                 formatDuration(static_cast<double>(data_.train.n - p.seen) / std::max(rate, 1e-9)).c_str());
    std::fflush(stderr);
  }

  int interrupted(const Position& p, bool progress) {
    if (progress) std::fputs("\r\x1b[K", stderr);
    const int sig = gSignal;
    std::string where;
    if (!o_.checkpointDir.empty()) {
      checkpoint(p);
      where = "checkpoint written to " + checkpointPath() + "; continue with --resume";
    } else if (!o_.savePath.empty()) {
      saveCheckpoint(o_.savePath, m_, b_.paramPtrs.data());
      where = "weights written to " + o_.savePath + " (no --checkpoint-dir: the run cannot be resumed exactly)";
    } else {
      where = "nothing written";
    }
    std::fflush(stdout);
    std::fprintf(stderr, "interrupted by %s at epoch %lld step %lld: %s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                 static_cast<long long>(p.epoch + 1), static_cast<long long>(p.epochStep), where.c_str());
    return 128 + sig;
  }

  // The metrics each epoch reports besides the loss (the train block's, or --metrics-list).
  bool accuracy() const { return (o_.metrics & SINTER_METRIC_ACCURACY) != 0; }
  // The training accuracy costs one forward pass per batch: --no-train-acc skips it.
  bool trainAccuracy() const { return accuracy() && o_.trainAccuracy; }

  const sinter_model_desc& m_;
  const DriverOptions& o_;
  const Layout l_;
  Splits data_;
  Buffers b_;
  std::unique_ptr<Optimizer> opt_;
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, FileCloser> metrics_;
};

int Trainer::run() {
  if (o_.epochs < 1) throw Error("the number of epochs must be >= 1 (pass --epochs)");
  if (o_.batch < 1) throw Error("the batch size must be >= 1 (pass --batch)");
  // Fail before training, not after the first epoch, when a file cannot be written.
  if (o_.resume && !std::filesystem::exists(checkpointPath()))
    throw Error("--resume: no checkpoint " + checkpointPath() + " to resume from");
  for (const std::string& dir : {std::filesystem::path(o_.savePath).parent_path().string(), o_.checkpointDir}) {
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
      if (dir == o_.checkpointDir && !o_.resume) {
        std::filesystem::create_directories(dir, ec);
        if (!ec) continue;
      }
      throw Error("directory " + dir + " does not exist" + (ec ? ": " + ec.message() : ""));
    }
  }

  data_ = loadTrainingSplits(m_, l_, o_);
  const int64_t largest = std::max({data_.train.n, data_.hasVal ? data_.val.n : 0, data_.hasTest ? data_.test.n : 0});
  const int64_t maxBatch = std::min(o_.batch, largest);
  b_ = makeBuffers(m_, l_, maxBatch);
  if (!o_.loadPath.empty()) loadCheckpoint(o_.loadPath, m_, b_.paramPtrs.data());
  else initParams(m_, o_.seed, b_.paramPtrs.data());

  sinter_train_config config = m_.train;
  config.lr = o_.lr;
  opt_ = Optimizer::create(config, l_.paramSizes, l_.dtype);
  const int64_t steps = (data_.train.n + o_.batch - 1) / o_.batch;
  const int64_t totalSteps = steps * o_.epochs;

  Position pos;
  if (o_.resume) {
    pos = resume();
    if (!o_.quiet)
      std::printf("resuming from %s at epoch %lld step %lld\n", checkpointPath().c_str(),
                  static_cast<long long>(pos.epoch + 1), static_cast<long long>(pos.epochStep));
  }
  if (pos.epoch >= o_.epochs) {
    if (!o_.quiet)
      std::printf("the checkpoint is at the end of epoch %lld: nothing to train (raise --epochs to continue)\n",
                  static_cast<long long>(pos.epoch));
    return 0;
  }
  setThreads(static_cast<int>(o_.threads));
  installParallelFor(m_);
  if (!o_.quiet)
    std::printf("training %s: %lld samples, batch %lld, %d thread%s\n", str(m_.name).c_str(),
                static_cast<long long>(data_.train.n), static_cast<long long>(o_.batch), threads(),
                threads() == 1 ? "" : "s");
  openMetrics(pos.epoch);
  const bool progress = !o_.quiet && isatty(fileno(stderr));
  SignalGuard signals;

  for (; pos.epoch < o_.epochs; ++pos.epoch, pos.epochStep = 0, pos.lossSum = 0, pos.seen = pos.correct = 0) {
    const std::vector<int64_t> order = epochOrder(data_.train.n, o_.seed, pos.epoch);
    const Clock::time_point start = Clock::now();
    Clock::time_point lastDraw = start;
    const int64_t seenAtStart = pos.seen;
    double lr = o_.lr;
    while (pos.epochStep < steps) {
      if (gSignal) return interrupted(pos, progress);
      const int64_t first = pos.epochStep * o_.batch, bs = std::min(o_.batch, data_.train.n - first);
      feedBatch(data_.train, data_.norm, order.data(), first, bs, l_, b_);
      // The step's seed for random ops (dropout) comes from the run's seed and the optimizer step, so
      // that a resumed run draws what an uninterrupted one would.
      const std::array<int64_t, 2> syms = {
          bs, static_cast<int64_t>(o_.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(opt_->steps()) + 1)};
      m_.train_step(b_.trainArgs.data(), syms.data());
      const double loss = b_.lossValue();
      const double norm =
          config.clip_norm > 0 ? clipGradNorm(b_.gradPtrs.data(), l_.paramSizes, l_.dtype, config.clip_norm) : 0.0;
      if (!std::isfinite(loss) || !std::isfinite(norm)) {
        if (progress) std::fputs("\r\x1b[K", stderr);
        std::fflush(stdout);
        const std::string why = diagnoseNonFinite(m_, l_, b_, bs);
        std::fprintf(stderr, "error: training diverged at epoch %lld step %lld (optimizer step %lld): %s; %s\n",
                     static_cast<long long>(pos.epoch + 1), static_cast<long long>(pos.epochStep + 1),
                     static_cast<long long>(opt_->steps() + 1), why.c_str(),
                     o_.checkpointDir.empty() ? "nothing was saved for this epoch"
                                              : ("the last good checkpoint " + checkpointPath() + " is kept").c_str());
        return 1;
      }
      if (trainAccuracy()) {
        m_.forward(b_.forwardArgs.data(), evalSymbols(bs).data());  // the params are those the loss was computed with
        pos.correct += correctPredictions(m_, l_.accuracy(), b_.forwardArgs.data(), bs);
      }
      lr = scheduledLr(config, o_.lr, opt_->steps(), pos.epoch, totalSteps);
      opt_->setLr(static_cast<float>(lr));
      opt_->step(b_.paramPtrs.data(), b_.gradPtrs.data());
      pos.lossSum += loss * static_cast<double>(bs);
      pos.seen += bs;
      ++pos.epochStep;
      if (o_.checkpointEvery > 0 && opt_->steps() % o_.checkpointEvery == 0 && pos.epochStep < steps) checkpoint(pos);
      if (progress && (secondsSince(lastDraw) >= 0.1 || pos.epochStep == steps)) {
        lastDraw = Clock::now();
        drawProgress(pos, steps, pos.seen - seenAtStart, start);
      }
    }
    const double seconds = secondsSince(start);
    if (progress) std::fputs("\r\x1b[K", stderr);
    const double trainLoss = pos.lossSum / static_cast<double>(data_.train.n);
    const double trainAcc = static_cast<double>(pos.correct) / static_cast<double>(data_.train.n);
    const double rate = static_cast<double>(pos.seen - seenAtStart) / std::max(seconds, 1e-9);
    const bool eval = (pos.epoch + 1) % o_.evalEvery == 0 || pos.epoch + 1 == o_.epochs;

    nlohmann::ordered_json line = {{"epoch", pos.epoch + 1}, {"step", opt_->steps()}, {"train_loss", trainLoss}};
    char text[512];
    int len = std::snprintf(text, sizeof text, "epoch %lld/%lld  train_loss %.4f",
                            static_cast<long long>(pos.epoch + 1), static_cast<long long>(o_.epochs), trainLoss);
    if (trainAccuracy()) {
      line["train_accuracy"] = trainAcc;
      len += std::snprintf(text + len, sizeof text - len, "  train_acc %.2f%%", 100.0 * trainAcc);
    }
    auto addEval = [&](const char* name, const Dataset& set) {
      const SplitMetrics e = evaluateSplit(m_, l_, set, data_.norm, maxBatch, b_);
      line[std::string(name) + "_loss"] = e.loss;
      len += std::snprintf(text + len, sizeof text - len, "  %s_loss %.4f", name, e.loss);
      if (accuracy()) {
        line[std::string(name) + "_accuracy"] = e.accuracy;
        len += std::snprintf(text + len, sizeof text - len, "  %s_acc %.2f%%", name, 100.0 * e.accuracy);
      }
    };
    if (eval && data_.hasVal) addEval("val", data_.val);
    if (eval && data_.hasTest) addEval("test", data_.test);
    std::snprintf(text + len, sizeof text - len, "  %.1fs  %.0f samples/s", seconds, rate);
    line["lr"] = lr;
    line["seconds"] = seconds;
    line["samples_per_second"] = rate;

    if (!o_.quiet) {
      std::printf("%s\n", text);
      std::fflush(stdout);
    }
    // The checkpoint first: if the process dies between the two, the resumed run rewrites this line.
    checkpoint(Position{pos.epoch + 1, 0, 0, 0, 0});
    writeMetrics(line);
    if (!o_.savePath.empty()) saveCheckpoint(o_.savePath, m_, b_.paramPtrs.data());
  }
  if (!o_.savePath.empty() && !o_.quiet) std::printf("saved weights to %s\n", o_.savePath.c_str());
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
    Trainer trainer(*model, opts);
    return trainer.run();
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
