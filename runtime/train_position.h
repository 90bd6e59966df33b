// Where a training run is, as a training checkpoint records it in its metadata, and the checks that a
// checkpoint's record is whole and consistent before a run resumes from it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sinter::rt {

// The position and the running sums of the epoch in progress.
struct Position {
  int64_t epoch = 0;      // from 0: the epoch in progress
  int64_t epochStep = 0;  // optimizer steps done in it
  double lossSum = 0;
  int64_t seen = 0, correct = 0;
  // With the grad_norm metric: each trained param's gradient norm summed over the epoch's steps (before
  // clipping). A checkpoint does not keep them: after a resume the mean is over the steps since.
  std::vector<double> gradNormSums;
  double globalGradNormSum = 0;  // of the norm of all the gradients together
  int64_t gradNormSteps = 0;
};

// The position at the start of epoch `epoch`, nothing seen yet.
inline Position epochStart(int64_t epoch) {
  Position p;
  p.epoch = epoch;
  return p;
}

// What a position means: the run's settings that fix the order of the samples and the optimizer.
struct RunIdentity {
  uint64_t seed = 0;
  int64_t batch = 1;
  int32_t optimizer = 0;  // sinter_optimizer_kind
  int64_t trainSamples = 0;
  int64_t labelsPerSample = 1;  // accuracy counts labels: time steps for per-step labels (not recorded)
};

// The checkpoint metadata of a position after `optimizerSteps` steps of a run (sinter_epoch,
// sinter_epoch_step, sinter_step, sinter_loss_sum as a C99 hex float, ...).
std::map<std::string, std::string> positionMetadata(const Position& p, int64_t optimizerSteps, const RunIdentity& run);

struct Resumed {
  Position position;
  int64_t optimizerSteps = 0;
};

// Reads a position back from checkpoint `path`'s metadata for a run with settings `now` and
// `stepsPerEpoch` optimizer steps an epoch. Every field must be there and be a plain decimal number (the
// loss sum a finite number); the run's settings must be this run's (the error names the flag); and the
// fields must agree with each other: the step inside the epoch, the optimizer step count equal to
// epoch * stepsPerEpoch + epoch step, the samples seen equal to the steps times the batch, the correct
// predictions at most the labels seen. Throws Error naming the checkpoint and the field.
Resumed readPosition(const std::map<std::string, std::string>& metadata, const RunIdentity& now, int64_t stepsPerEpoch,
                     const std::string& path);

}  // namespace sinter::rt
