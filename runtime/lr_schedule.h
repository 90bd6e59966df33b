// Learning-rate schedules: the rate of every optimizer step from the train config's schedule, as
// torch.optim.lr_scheduler computes it (docs/training.md has the formulas).
#pragma once

#include <sinter/model_abi.h>

#include <cstdint>

namespace sinter::rt {

// How long the run is, for the schedules that span it (cosine, linear, one-cycle).
struct RunLength {
  int64_t steps = 1;   // optimizer steps of the whole run
  int64_t epochs = 1;  // epochs of the whole run
};

// The learning rate of optimizer step `step` (from 0) in epoch `epoch` (from 0) for base rate `lr` and the
// schedule of `config` (see sinter_schedule_kind), times the warm-up; computed in double. Throws
// std::invalid_argument for an unknown schedule kind.
double scheduledLr(const sinter_train_config& config, double lr, int64_t step, int64_t epoch, RunLength run);

}  // namespace sinter::rt
