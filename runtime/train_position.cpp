#include "runtime/train_position.h"

#include "runtime/error.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sinter::rt {
namespace {

std::string hexDouble(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

// Reads the metadata of one checkpoint, naming it and the field in every error.
class MetadataReader {
 public:
  MetadataReader(const std::map<std::string, std::string>& m, const std::string& path) : m_(m), path_(path) {}

  const std::string& text(const char* key) const {
    const auto it = m_.find(key);
    if (it == m_.end()) throw fail(key, "is missing: not a training checkpoint");
    return it->second;
  }

  // A plain decimal number: digits only, no sign, no spaces, no suffix ("1x" and "-5" are errors).
  template <class T>
  T number(const char* key) const {
    const std::string& s = text(key);
    T v{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || s[0] == '-' || s[0] == '+' || ec != std::errc() || end != s.data() + s.size())
      throw fail(key, "is '" + s + "', not a number >= 0");
    return v;
  }

  double finite(const char* key) const {
    const std::string& s = text(key);
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v))
      throw fail(key, "is '" + s + "', not a finite number");
    return v;
  }

  Error fail(const char* key, const std::string& why) const {
    return Error("checkpoint " + path_ + ": metadata '" + key + "' " + why);
  }

 private:
  const std::map<std::string, std::string>& m_;
  const std::string& path_;
};

}  // namespace

std::map<std::string, std::string> positionMetadata(const Position& p, int64_t optimizerSteps, const RunIdentity& run) {
  return {{"sinter_epoch", std::to_string(p.epoch)},
          {"sinter_epoch_step", std::to_string(p.epochStep)},
          {"sinter_step", std::to_string(optimizerSteps)},
          {"sinter_optimizer", std::to_string(run.optimizer)},
          {"sinter_seed", std::to_string(run.seed)},
          {"sinter_batch", std::to_string(run.batch)},
          {"sinter_train_samples", std::to_string(run.trainSamples)},
          {"sinter_loss_sum", hexDouble(p.lossSum)},
          {"sinter_seen", std::to_string(p.seen)},
          {"sinter_correct", std::to_string(p.correct)}};
}

Resumed readPosition(const std::map<std::string, std::string>& metadata, const RunIdentity& now, int64_t stepsPerEpoch,
                     const std::string& path) {
  const MetadataReader r(metadata, path);
  auto same = [&](const char* key, auto value, const char* flag) {
    if (r.number<decltype(value)>(key) != value)
      throw Error("checkpoint " + path + " was written with " + flag + " " + r.text(key) + ", this run has " +
                  std::to_string(value) + "; resume with the same " + flag);
  };
  same("sinter_seed", now.seed, "--seed");
  same("sinter_batch", now.batch, "--batch");
  same("sinter_optimizer", int64_t{now.optimizer}, "optimizer (kind)");
  same("sinter_train_samples", now.trainSamples, "number of training samples (--limit-train, --val-split)");

  Resumed out;
  Position& p = out.position;
  p.epoch = r.number<int64_t>("sinter_epoch");
  p.epochStep = r.number<int64_t>("sinter_epoch_step");
  p.seen = r.number<int64_t>("sinter_seen");
  p.correct = r.number<int64_t>("sinter_correct");
  p.lossSum = r.finite("sinter_loss_sum");
  out.optimizerSteps = r.number<int64_t>("sinter_step");
  if (p.epochStep >= stepsPerEpoch)
    throw r.fail("sinter_epoch_step", "is " + std::to_string(p.epochStep) + ", past the " +
                                          std::to_string(stepsPerEpoch) + " steps of an epoch");
  int64_t expected = 0;
  const bool overflow = __builtin_mul_overflow(p.epoch, stepsPerEpoch, &expected) ||
                        __builtin_add_overflow(expected, p.epochStep, &expected);
  if (overflow || expected != out.optimizerSteps)
    throw r.fail("sinter_step", "is " + std::to_string(out.optimizerSteps) + " but epoch " + std::to_string(p.epoch) +
                                    " step " + std::to_string(p.epochStep) + " of " + std::to_string(stepsPerEpoch) +
                                    "-step epochs is " +
                                    (overflow ? "past any step count" : "optimizer step " + std::to_string(expected)));
  if (p.seen != p.epochStep * now.batch)
    throw r.fail("sinter_seen", "is " + std::to_string(p.seen) + " but " + std::to_string(p.epochStep) +
                                    " steps of batch " + std::to_string(now.batch) + " see " +
                                    std::to_string(p.epochStep * now.batch) + " samples");
  if (p.correct > p.seen * now.labelsPerSample)
    throw r.fail("sinter_correct", "is " + std::to_string(p.correct) + ", more than the " +
                                       std::to_string(p.seen * now.labelsPerSample) +
                                       (now.labelsPerSample == 1 ? " samples seen" : " labels seen"));
  return out;
}

}  // namespace sinter::rt
