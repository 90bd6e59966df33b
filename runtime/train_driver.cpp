// sinter_train_main: the whole training program of a compiled model. Used by ahead-of-time training
// executables (exe_main.c) and in-process by the JIT, so it never exits the process, restores the FPU
// state and signal handlers it changes and reports every failure through its return value.
#include "runtime/train_main.h"

#include "runtime/checkpoint.h"
#include "runtime/communicator.h"
#include "runtime/denormals.h"
#include "runtime/distributed_step.h"
#include "runtime/driver_options.h"
#include "runtime/error.h"
#include "runtime/file_io.h"
#include "runtime/init.h"
#include "runtime/lr_schedule.h"
#include "runtime/metrics.h"
#include "runtime/metrics_log.h"
#include "runtime/model_layout.h"
#include "runtime/optimizer.h"
#include "runtime/parallel.h"
#include "runtime/rank_share.h"
#include "runtime/saved_normalizer.h"
#include "runtime/sharded_eval.h"
#include "runtime/splits.h"
#include "runtime/train_diagnosis.h"
#include "runtime/train_position.h"

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
#include <optional>
#include <sstream>
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

std::string formatDuration(double s) {
  const int64_t t = std::llround(s);
  char buf[48];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(t / 3600),
                  static_cast<long long>(t / 60 % 60), static_cast<long long>(t % 60));
  else std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(t / 60), static_cast<long long>(t % 60));
  return buf;
}

// The last line of every epoch: the text printed and the object written to the metrics file.
struct EpochReport {
  nlohmann::ordered_json json;
  std::string text;
};

// Appends printf-style text to s.
template <class... A>
void appendf(std::string& s, const char* format, A... args) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, args...);
  s += buf;
}

// Appends the figures of `split` that `bits` ask for to the epoch's line and object: "val_mae 0.1234" and
// "val_mae": 0.1234; a fraction prints as a percentage ("val_acc 84.05%"), top-k's column names its k.
void addFigures(EpochReport& r, const std::string& split, const SplitMetrics& e, int32_t bits, int64_t topK) {
  for (const MetricName& n : metricNames()) {
    if (!(bits & n.bit)) continue;
    const double v = e.value(n.bit);
    r.json[split + "_" + n.name] = v;
    const std::string column = n.bit == SINTER_METRIC_TOP_K ? "top" + std::to_string(topK) : std::string(n.column);
    if (n.percent) appendf(r.text, "  %s_%s %.2f%%", split.c_str(), column.c_str(), 100.0 * v);
    else appendf(r.text, "  %s_%s %.4f", split.c_str(), column.c_str(), v);
  }
}

class Trainer {
 public:
  // Every process of a distributed run trains; only rank 0 prints and writes (trainMain clears the other
  // ranks' output flags).
  Trainer(const sinter_model_desc& m, const DriverOptions& o, Communicator& comm)
      : m_(m), o_(o), l_(checkModel(m)), comm_(comm) {
    checkMetricsFit(m, l_, o.metrics);
  }

  int run();

 private:
  // Setting up, in order: the flags and every output path, then the data, buffers, params, optimizer,
  // then where to start.
  void checkOutputs() const;
  void prepare();
  Position startPosition();
  void shareStart(Position& pos);
  // A signal that reached any process stops every one of them after the same step.
  bool stopRequested();

  // Training. Each returns the exit status when the run must stop (a signal, divergence), else nothing.
  std::optional<int> trainEpoch(Position& pos);
  std::optional<int> step(Position& pos, const std::vector<int64_t>& order, double& lr);
  SplitMetrics evaluate(const Dataset& shard) {
    return evaluateShards(m_, l_, shard, data_.norm, maxBatch_, o_.topK, b_, comm_);
  }
  void endEpoch(const Position& pos, double seconds, double rate, double lr);
  void addGradNorms(Position& pos) const;
  void reportGradNorms(const Position& pos, EpochReport& r) const;
  EpochReport epochReport(const Position& pos, double seconds, double rate, double lr);

  // Checkpoints, metrics and the messages of a run that stops.
  RunIdentity identity() const { return {o_.seed, o_.batch, m_.train.optimizer, data_.train.n, l_.labelWidth}; }
  std::string checkpointPath() const {
    return (std::filesystem::path(o_.checkpointDir) / "checkpoint.safetensors").string();
  }
  CheckpointExtras extras(const Position& p);
  void saveWeights();
  void checkpoint(const Position& p);
  std::string whatIsKept() const;
  std::string processesText() const { return comm_.single() ? "" : ", " + std::to_string(comm_.size()) + " processes"; }
  int diverged(const Position& pos, int64_t optimizerStep, const std::string& why);
  int interrupted(const Position& p);
  void clearProgress() const {
    if (progress_) std::fputs("\r\x1b[K", stderr);
  }
  void drawProgress(const Position& p, int64_t epochSeen, Clock::time_point start);

  // The metrics each epoch reports besides the loss (the train block's, or --metrics-list).
  bool accuracy() const { return (o_.metrics & SINTER_METRIC_ACCURACY) != 0; }
  // The training accuracy costs one forward pass per batch: --no-train-acc skips it.
  bool trainAccuracy() const { return accuracy() && o_.trainAccuracy; }

  const sinter_model_desc& m_;
  const DriverOptions& o_;
  const Layout l_;
  Communicator& comm_;
  sinter_train_config config_{};
  Splits data_;
  Dataset valShard_, testShard_;  // this process's shards of the validation and test splits
  Buffers b_;                                // before grads_, whose buckets point b_'s gradients back when destroyed
  std::unique_ptr<DistributedStep> grads_;
  double commAtEpochStart_ = 0, overlapAtEpochStart_ = 0;
  std::unique_ptr<Optimizer> opt_;
  int64_t maxBatch_ = 1, steps_ = 1, totalSteps_ = 1;  // largest batch; optimizer steps an epoch, a run
  bool progress_ = false;                              // a progress line redrawn on stderr
  DivergenceWatch divergence_;
  std::string lastCheckpoint_;  // the training checkpoint this run wrote or resumed from, for messages
  int64_t weightsEpoch_ = 0;    // the last epoch whose weights --save holds (0: none yet)
  MetricsLog metrics_;
};

// Fails before training, not after the first epoch, when an output cannot be written: every path is
// checked for what it is (a device node or a directory is never replaced) and for room to create a file.
void Trainer::checkOutputs() const {
  if (o_.epochs < 1) throw Error("the number of epochs must be >= 1 (pass --epochs)");
  if (o_.batch < 1) throw Error("the batch size must be >= 1 (pass --batch)");
  if (comm_.rank() != 0) return;  // the other ranks write nothing and read the checkpoint from rank 0
  if (o_.resume && !std::filesystem::exists(checkpointPath()))
    throw Error("--resume: no checkpoint " + checkpointPath() + " to resume from");
  // The checkpoint directory first: it is created when missing, and --save may point inside it.
  if (!o_.checkpointDir.empty()) {
    std::error_code ec;
    if (!std::filesystem::is_directory(o_.checkpointDir, ec)) std::filesystem::create_directories(o_.checkpointDir, ec);
    if (ec) throw Error("--checkpoint-dir " + o_.checkpointDir + ": cannot create the directory: " + ec.message());
    checkWritable(checkpointPath(), "--checkpoint-dir");
  }
  if (!o_.savePath.empty()) checkWritable(o_.savePath, "--save");
  if (!o_.metricsPath.empty()) checkAppendable(o_.metricsPath, "--metrics");
}

void Trainer::prepare() {
  data_ = loadTrainingSplits(m_, l_, o_);
  const int64_t largest = std::max({data_.train.n, data_.hasVal ? data_.val.n : 0, data_.hasTest ? data_.test.n : 0});
  maxBatch_ = std::min(DistributedStep::localBatch(o_.batch, comm_.size(), o_.reduceChunk), largest);
  b_ = makeBuffers(m_, l_, maxBatch_);
  grads_ = std::make_unique<DistributedStep>(m_, l_, b_, comm_, o_.reduceChunk);
  if (data_.hasVal) valShard_ = evaluationShard(data_.val, comm_);
  if (data_.hasTest) testShard_ = evaluationShard(data_.test, comm_);
  if (!o_.loadPath.empty()) loadCheckpoint(o_.loadPath, m_, b_.paramPtrs.data());
  else initParams(m_, o_.seed, b_.paramPtrs.data());
  config_ = m_.train;
  config_.lr = o_.lr;
  opt_ = Optimizer::create(config_, l_.trainedSizes, l_.dtype, paramGroupsOf(m_));
  steps_ = (data_.train.n + o_.batch - 1) / o_.batch;
  totalSteps_ = steps_ * o_.epochs;
}

// The start of a fresh run, or the checkpoint's position, params and optimizer state with --resume.
Position Trainer::startPosition() {
  if (!o_.resume || comm_.rank() != 0) return {};
  const std::string path = checkpointPath();
  CheckpointExtras x = extras({});
  const std::map<std::string, std::string> meta = loadCheckpoint(path, m_, b_.paramPtrs.data(), &x);
  const Resumed r = readPosition(meta, identity(), steps_, path);
  opt_->setSteps(r.optimizerSteps);
  lastCheckpoint_ =
      path + " (epoch " + std::to_string(r.position.epoch + 1) + " step " + std::to_string(r.position.epochStep) + ")";
  if (!o_.quiet)
    std::printf("resuming from %s at epoch %lld step %lld\n", path.c_str(),
                static_cast<long long>(r.position.epoch) + 1, static_cast<long long>(r.position.epochStep));
  return r.position;
}

// Rank 0's start (fresh, --load or --resume) copied to every other process: the params, the optimizer's
// state and step count, and the position, so that only rank 0 needs to read the files.
void Trainer::shareStart(Position& pos) {
  if (comm_.single()) return;
  const size_t element = l_.dtype == SINTER_F64 ? sizeof(double) : sizeof(float);
  for (int32_t i = 0; i < m_.num_params; ++i)
    comm_.broadcast(b_.paramPtrs[i], l_.paramSizes[i] * static_cast<int64_t>(element));
  for (const StateBuffer& s : opt_->state())
    comm_.broadcast(s.data, l_.paramSizes[s.param] * (s.dtype == SINTER_F64 ? 8 : 4));
  int64_t steps = opt_->steps();
  comm_.broadcast(&steps, sizeof steps);
  opt_->setSteps(steps);
  comm_.broadcast(&pos, sizeof pos);
}

bool Trainer::stopRequested() {
  int64_t sig = gSignal;
  comm_.allreduceMax(&sig, 1);
  if (sig != 0 && gSignal == 0) gSignal = static_cast<std::sig_atomic_t>(sig);  // another process's signal
  return sig != 0;
}

CheckpointExtras Trainer::extras(const Position& p) {
  CheckpointExtras x;
  for (const StateBuffer& s : opt_->state()) {
    const sinter_tensor_desc& t = m_.params[s.param];
    x.tensors.push_back(
        {"optimizer/" + s.name + "/" + str(t.name), std::vector<int64_t>(t.dims, t.dims + t.rank), s.data, s.dtype});
  }
  x.metadata = positionMetadata(p, opt_->steps(), identity());
  return x;
}

// Writes the weights to --save, with the statistics of --normalize standard (sinter run applies them).
void Trainer::saveWeights() {
  CheckpointExtras x;
  addNormalizer(x, data_.norm);
  saveCheckpoint(o_.savePath, m_, b_.paramPtrs.data(), &x);
}

// Writes the training checkpoint, refusing params that went non-finite so that the last good one stays.
void Trainer::checkpoint(const Position& p) {
  if (o_.checkpointDir.empty()) return;
  for (int32_t i = 0; i < m_.num_params; ++i)
    if (const int64_t k = firstNonFinite(b_.paramPtrs[i], l_.dtype, l_.paramSizes[i]); k >= 0)
      throw Error("param '" + str(m_.params[i].name) + "' became " + valueName(floatAt(b_.paramPtrs[i], l_.dtype, k)) +
                  " by step " + std::to_string(opt_->steps()) + "; " + whatIsKept());
  CheckpointExtras x = extras(p);
  addNormalizer(x, data_.norm);
  saveCheckpoint(checkpointPath(), m_, b_.paramPtrs.data(), &x);
  lastCheckpoint_ =
      checkpointPath() + " (epoch " + std::to_string(p.epoch + 1) + " step " + std::to_string(p.epochStep) + ")";
}

// What a run that stops on bad values leaves behind, as it is: only files this run wrote or resumed from.
std::string Trainer::whatIsKept() const {
  std::string kept;
  if (!lastCheckpoint_.empty()) kept = "the last good checkpoint " + lastCheckpoint_ + " is kept";
  else if (!o_.checkpointDir.empty()) kept = "no checkpoint was written by this run";
  if (weightsEpoch_ > 0)
    kept += (kept.empty() ? "" : "; ") + std::string("the weights of epoch ") + std::to_string(weightsEpoch_) +
            " are kept in " + o_.savePath;
  return kept.empty() ? "nothing was saved" : kept;
}

int Trainer::diverged(const Position& pos, int64_t optimizerStep, const std::string& why) {
  if (comm_.rank() != 0) return 1;  // every process diverges at the same step: rank 0 says it
  clearProgress();
  std::fflush(stdout);
  std::fprintf(stderr, "error: training diverged at epoch %lld step %lld (optimizer step %lld): %s; %s\n",
               static_cast<long long>(pos.epoch) + 1, static_cast<long long>(pos.epochStep) + 1,
               static_cast<long long>(optimizerStep), why.c_str(), whatIsKept().c_str());
  return 1;
}

int Trainer::interrupted(const Position& p) {
  clearProgress();
  const int sig = gSignal;
  if (comm_.rank() != 0) return 128 + sig;
  std::string where;
  if (!o_.checkpointDir.empty()) {
    checkpoint(p);
    where = "checkpoint written to " + checkpointPath() + "; continue with --resume";
  } else if (!o_.savePath.empty()) {
    saveWeights();
    where = "weights written to " + o_.savePath + " (no --checkpoint-dir: the run cannot be resumed exactly)";
  } else {
    where = "nothing written";
  }
  std::fflush(stdout);
  std::fprintf(stderr, "interrupted by %s at epoch %lld step %lld: %s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
               static_cast<long long>(p.epoch) + 1, static_cast<long long>(p.epochStep), where.c_str());
  return 128 + sig;
}

void Trainer::drawProgress(const Position& p, int64_t epochSeen, Clock::time_point start) {
  const double elapsed = secondsSince(start);
  const double rate = static_cast<double>(epochSeen) / std::max(elapsed, 1e-9);
  constexpr int kWidth = 24;
  const int filled = static_cast<int>(kWidth * p.epochStep / std::max<int64_t>(steps_, 1));
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>', bar.append(static_cast<size_t>(kWidth - filled - 1), ' ');
  std::fprintf(stderr, "\r[%s] epoch %lld/%lld  step %lld/%lld  loss %.4f  %.0f samples/s  ETA %s\x1b[K", bar.c_str(),
               static_cast<long long>(p.epoch) + 1, static_cast<long long>(o_.epochs),
               static_cast<long long>(p.epochStep), static_cast<long long>(steps_),
               p.seen ? p.lossSum / static_cast<double>(p.seen) : 0.0, rate,
               formatDuration(static_cast<double>(data_.train.n - p.seen) / std::max(rate, 1e-9)).c_str());
  std::fflush(stderr);
}

int Trainer::run() {
  checkOutputs();
  prepare();
  Position pos = startPosition();
  shareStart(pos);
  if (pos.epoch >= o_.epochs) {
    if (!o_.quiet)
      std::printf("the checkpoint is at the end of epoch %lld: nothing to train (raise --epochs to continue)\n",
                  static_cast<long long>(pos.epoch));
    return 0;
  }
  setThreads(static_cast<int>(o_.threads));
  installParallelFor(m_);
  if (!o_.quiet)
    std::printf("training %s: %lld samples, batch %lld, %d thread%s%s\n", str(m_.name).c_str(),
                static_cast<long long>(data_.train.n), static_cast<long long>(o_.batch), threads(),
                threads() == 1 ? "" : "s", processesText().c_str());
  if (!o_.metricsPath.empty()) metrics_.open(o_.metricsPath, o_.resume, pos.epoch);
  progress_ = !o_.quiet && isatty(fileno(stderr));
  SignalGuard signals;
  for (; pos.epoch < o_.epochs; pos = epochStart(pos.epoch + 1))
    if (const std::optional<int> status = trainEpoch(pos)) return *status;
  if (!o_.savePath.empty() && !o_.quiet) std::printf("saved weights to %s\n", o_.savePath.c_str());
  std::fflush(stdout);
  return 0;
}

std::optional<int> Trainer::trainEpoch(Position& pos) {
  const std::vector<int64_t> order = epochOrder(data_.train.n, o_.seed, pos.epoch);
  commAtEpochStart_ = grads_->commSeconds();
  overlapAtEpochStart_ = grads_->overlapSeconds();
  const Clock::time_point start = Clock::now();
  Clock::time_point lastDraw = start;
  const int64_t seenAtStart = pos.seen;
  double lr = o_.lr;
  while (pos.epochStep < steps_) {
    if (stopRequested()) return interrupted(pos);
    if (const std::optional<int> status = step(pos, order, lr)) return status;
    if (progress_ && (secondsSince(lastDraw) >= 0.1 || pos.epochStep == steps_)) {
      lastDraw = Clock::now();
      drawProgress(pos, pos.seen - seenAtStart, start);
    }
  }
  const double seconds = secondsSince(start);
  clearProgress();
  endEpoch(pos, seconds, static_cast<double>(pos.seen - seenAtStart) / std::max(seconds, 1e-9), lr);
  return std::nullopt;
}

// One optimizer step on the batch at `pos`: the loss and gradients, checked, then the update, checked.
std::optional<int> Trainer::step(Position& pos, const std::vector<int64_t>& order, double& lr) {
  const int64_t first = pos.epochStep * o_.batch, bs = std::min(o_.batch, data_.train.n - first);
  // The step's seed for random ops (dropout) comes from the run's seed and the optimizer step, so
  // that a resumed run draws what an uninterrupted one would.
  const uint64_t seed = o_.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(opt_->steps()) + 1;
  // The gradients of the global batch's mean loss, summed over the processes (distributed_step.h).
  const StepFigures f = grads_->run({&data_.train, &data_.norm, order.data(), first, bs, seed}, trainAccuracy());
  const double loss = f.loss;
  if (o_.metrics & SINTER_METRIC_GRAD_NORM) addGradNorms(pos);
  const double norm =
      config_.clip_norm > 0 ? clipGradNorm(b_.gradPtrs.data(), l_.trainedSizes, l_.dtype, config_.clip_norm) : 0.0;
  if (!std::isfinite(loss) || !std::isfinite(norm))
    return diverged(pos, opt_->steps() + 1, diagnoseNonFinite(m_, l_, b_, std::max<int64_t>(f.localBatch, 1)));
  pos.correct += f.correct;
  // Each group's rate is scheduled from its own base: --lr scaled by the group's ratio to the train block's.
  const RunLength run{totalSteps_, o_.epochs};
  opt_->setLrs([&](double ratio) { return scheduledLr(config_, o_.lr * ratio, opt_->steps(), pos.epoch, run); });
  lr = scheduledLr(config_, o_.lr, opt_->steps(), pos.epoch, run);  // the params in no group: the epoch's `lr`
  opt_->step(b_.paramPtrs.data(), b_.gradPtrs.data());
  if (const int32_t i = opt_->nonFiniteParam(); i >= 0)
    return diverged(pos, opt_->steps(), nonFiniteParamText(m_, l_, b_, i) + " in the optimizer's update");
  b_.next.commit(m_, b_.paramPtrs.data());  // the states (running statistics) move with the kept step
  if (const std::string warning = divergence_.observe(loss); !warning.empty() && comm_.rank() == 0) {
    clearProgress();
    std::fflush(stdout);
    std::fprintf(stderr, "warning: at epoch %lld step %lld (optimizer step %lld) %s\n",
                 static_cast<long long>(pos.epoch) + 1, static_cast<long long>(pos.epochStep) + 1,
                 static_cast<long long>(opt_->steps()), warning.c_str());
  }
  pos.lossSum += loss * static_cast<double>(bs);
  pos.seen += bs;
  ++pos.epochStep;
  if (o_.checkpointEvery > 0 && opt_->steps() % o_.checkpointEvery == 0 && pos.epochStep < steps_) checkpoint(pos);
  return std::nullopt;
}

// The step's gradient norms (of the global batch's gradients, before clipping) added to the epoch's sums.
void Trainer::addGradNorms(Position& pos) const {
  const std::vector<double> norms = gradNorms(b_.gradPtrs.data(), l_.trainedSizes, l_.dtype);
  pos.gradNormSums.resize(norms.size());
  double squares = 0;
  for (size_t i = 0; i < norms.size(); ++i) pos.gradNormSums[i] += norms[i], squares += norms[i] * norms[i];
  pos.globalGradNormSum += std::sqrt(squares);
  ++pos.gradNormSteps;
}

// grad_norm, means over the epoch's steps: the norm of all the gradients together ("train_grad_norm", on the
// line too) and each param's ("grad_norms": {"w1": ...}, in the metrics file only).
void Trainer::reportGradNorms(const Position& pos, EpochReport& r) const {
  if (!(o_.metrics & SINTER_METRIC_GRAD_NORM) || pos.gradNormSteps == 0) return;
  const auto steps = static_cast<double>(pos.gradNormSteps);
  nlohmann::ordered_json norms = nlohmann::ordered_json::object();
  for (size_t i = 0; i < pos.gradNormSums.size(); ++i) norms[str(m_.params[i].name)] = pos.gradNormSums[i] / steps;
  r.json["train_grad_norm"] = pos.globalGradNormSum / steps;
  r.json["grad_norms"] = norms;
  appendf(r.text, "  train_grad_norm %.4g", pos.globalGradNormSum / steps);
}

EpochReport Trainer::epochReport(const Position& pos, double seconds, double rate, double lr) {
  const double n = static_cast<double>(data_.train.n);
  const double trainLoss = pos.lossSum / n;
  EpochReport r;
  r.json = {{"epoch", pos.epoch + 1}, {"step", opt_->steps()}};
  appendf(r.text, "epoch %lld/%lld", static_cast<long long>(pos.epoch) + 1, static_cast<long long>(o_.epochs));
  // The training split's running figures: the loss, and what follows from it or the accuracy count.
  SplitMetrics train;
  train.loss = trainLoss;
  train.perplexity = std::exp(trainLoss);
  train.accuracy = static_cast<double>(pos.correct) / (n * static_cast<double>(l_.labelWidth));  // per label
  addFigures(
      r, "train", train,
      SINTER_METRIC_LOSS | (trainAccuracy() ? SINTER_METRIC_ACCURACY : 0) | (o_.metrics & SINTER_METRIC_PERPLEXITY),
      o_.topK);
  auto addEval = [&](const char* name, const Dataset& shard) {
    addFigures(r, name, evaluate(shard), o_.metrics & ~kStepMetrics, o_.topK);
  };
  if ((pos.epoch + 1) % o_.evalEvery == 0 || pos.epoch + 1 == o_.epochs) {
    if (data_.hasVal) addEval("val", valShard_);
    if (data_.hasTest) addEval("test", testShard_);
  }
  reportGradNorms(pos, r);
  appendf(r.text, "  %.1fs  %.0f samples/s", seconds, rate);
  r.json["lr"] = lr;
  r.json["seconds"] = seconds;
  r.json["samples_per_second"] = rate;
  if (!comm_.single()) {  // rank 0's seconds in the gradients' collectives this epoch, and computing meanwhile
    r.json["processes"] = comm_.size();
    r.json["comm_seconds"] = grads_->commSeconds() - commAtEpochStart_;
    r.json["comm_overlap_seconds"] = grads_->overlapSeconds() - overlapAtEpochStart_;
  }
  return r;
}

void Trainer::endEpoch(const Position& pos, double seconds, double rate, double lr) {
  const EpochReport r = epochReport(pos, seconds, rate, lr);
  if (!o_.quiet) {
    std::printf("%s\n", r.text.c_str());
    std::fflush(stdout);
  }
  // The checkpoint first: if the process dies between the two, the resumed run rewrites this line.
  checkpoint(epochStart(pos.epoch + 1));
  metrics_.write(r.json);
  if (!o_.savePath.empty()) {
    saveWeights();
    weightsEpoch_ = pos.epoch + 1;
  }
}

}  // namespace
}  // namespace sinter::rt

namespace sinter::rt {

int trainMain(const sinter_model_desc* model, int argc, char** argv, Communicator& comm) {
  // "error (rank 1 of 4): ..." when several processes may each report their own.
  const std::string who =
      comm.single() ? "" : " (rank " + std::to_string(comm.rank()) + " of " + std::to_string(comm.size()) + ")";
  // Nothing may escape into C code, the JIT's host included: every failure becomes a status.
  try {
    if (!model) {
      std::fputs("error: no model descriptor\n", stderr);
      return 1;
    }
    DriverOptions opts = defaultOptions(*model);
    // Every process parses the same flags; only rank 0 prints the usage or what is wrong with them.
    std::ostringstream muted;
    const bool root = comm.rank() == 0;
    switch (parseOptions(*model, argc, argv, opts, root ? std::cout : muted, root ? std::cerr : muted)) {
      case ParseResult::Help: std::cout.flush(); return 0;
      case ParseResult::Error: return 2;
      case ParseResult::Run: break;
    }
    // A batch that does not split fails every process alike: rank 0 says so, as for a bad flag.
    try {
      checkBatchSplits(opts.batch, comm.size());
    } catch (const Error& e) {
      if (root) std::fprintf(stderr, "error: %s\n", e.what());
      return 2;
    }
    if (!root) {  // the other processes train without a word or a file
      opts.quiet = true;
      opts.metricsPath.clear();
      opts.savePath.clear();
      opts.checkpointDir.clear();
    }
    DenormalGuard ftz(opts.flushDenormals);
    Trainer trainer(*model, opts, comm);
    return trainer.run();
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "error%s: out of memory\n", who.c_str());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error%s: %s\n", who.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "error%s: unexpected exception\n", who.c_str());
  }
  return 1;
}

}  // namespace sinter::rt

extern "C" int sinter_train_main(const sinter_model_desc* model, int argc, char** argv) {
  sinter::rt::SingleProcess one;
  return sinter::rt::trainMain(model, argc, argv, one);
}
