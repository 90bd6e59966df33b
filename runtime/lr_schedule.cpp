// Each schedule is torch's closed form: the rate is a function of the position alone, so that a resumed
// run needs no history and every param group computes its own rate from its own base.
#include "runtime/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace sinter::rt {
namespace {

// CosineAnnealingLR's and OneCycleLR's cosine: from `from` at pct 0 to `to` at pct 1.
double cosineAnneal(double from, double to, double pct) {
  return to + (from - to) / 2.0 * (std::cos(std::numbers::pi * pct) + 1.0);
}

// torch.optim.lr_scheduler.LinearLR (closed form): lr * (start + (end - start) * min(t, n) / n).
double linear(const sinter_train_config& c, double lr, int64_t t, int64_t total) {
  const int64_t n = c.total_iters > 0 ? c.total_iters : total;
  if (n <= 0) return lr * c.start_factor;
  const double frac = static_cast<double>(std::min(t, n)) / static_cast<double>(n);
  return lr * (c.start_factor + (static_cast<double>(c.end_factor) - c.start_factor) * frac);
}

// torch.optim.lr_scheduler.OneCycleLR, two phases, cosine annealing, no momentum cycling: from lr / div
// up to lr over the first pct_start * T steps (the phase ends at step pct_start * T - 1), then down to
// lr / div / final_div at step T - 1.
double oneCycle(const sinter_train_config& c, double lr, int64_t t, int64_t total) {
  const double initial = lr / c.div_factor, minimum = initial / c.final_div_factor;
  const double peak = static_cast<double>(c.pct_start) * static_cast<double>(total) - 1.0;
  const double s = static_cast<double>(std::min(t, total));
  const auto pct = [](double from, double to, double at) { return to > from ? (at - from) / (to - from) : 0.0; };
  if (s <= peak) return cosineAnneal(initial, lr, pct(0.0, peak, s));
  return cosineAnneal(lr, minimum, pct(peak, static_cast<double>(total) - 1.0, s));
}

}  // namespace

double scheduledLr(const sinter_train_config& c, double lr, int64_t step, int64_t epoch, RunLength run) {
  // The schedules that span the run count steps, or epochs when asked to.
  const int64_t t = c.sched_per_epoch ? epoch : step, total = c.sched_per_epoch ? run.epochs : run.steps;
  double out = lr;
  switch (c.schedule) {
    case SINTER_SCHED_CONSTANT: break;
    case SINTER_SCHED_STEP: {
      const int64_t periods = epoch / std::max<int64_t>(c.step_size, 1);  // StepLR: whole periods only
      out = lr * std::pow(static_cast<double>(c.gamma), static_cast<double>(periods));
    } break;
    case SINTER_SCHED_EXPONENTIAL: out = lr * std::pow(static_cast<double>(c.gamma), static_cast<double>(epoch)); break;
    case SINTER_SCHED_COSINE: {
      const double frac =
          run.steps > 0 ? static_cast<double>(std::min(step, run.steps)) / static_cast<double>(run.steps) : 0.0;
      out = c.min_lr + (lr - c.min_lr) * (1.0 + std::cos(std::numbers::pi * frac)) / 2.0;
      break;
    }
    case SINTER_SCHED_LINEAR: out = linear(c, lr, t, total); break;
    case SINTER_SCHED_ONE_CYCLE: out = oneCycle(c, lr, t, total); break;
    default: throw std::invalid_argument("unknown learning-rate schedule kind " + std::to_string(c.schedule));
  }
  if (c.warmup_steps > 0 && step < c.warmup_steps)
    out *= static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  return out;
}

}  // namespace sinter::rt
