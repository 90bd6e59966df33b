// The linear and one-cycle schedules against values worked out by hand from torch's definitions of
// LinearLR and OneCycleLR (torch_optim_parity.py compares them with torch itself).
#include "runtime/lr_schedule.h"

#include <catch2/catch.hpp>

#include <cmath>

using sinter::rt::scheduledLr;

namespace {

constexpr double kPi = 3.141592653589793;

sinter_train_config linearConfig(float start, float end, int64_t iters) {
  sinter_train_config c{};
  c.schedule = SINTER_SCHED_LINEAR;
  c.start_factor = start;
  c.end_factor = end;
  c.total_iters = iters;
  return c;
}

sinter_train_config oneCycleConfig(float pct, float div, float finalDiv) {
  sinter_train_config c{};
  c.schedule = SINTER_SCHED_ONE_CYCLE;
  c.pct_start = pct;
  c.div_factor = div;
  c.final_div_factor = finalDiv;
  return c;
}

}  // namespace

TEST_CASE("Linear schedule: from start_factor to end_factor over total_iters, then flat") {
  const sinter_train_config c = linearConfig(0.5f, 0.25f, 4);
  // lr * (0.5 + (0.25 - 0.5) * min(t, 4) / 4) for lr = 0.1.
  CHECK(scheduledLr(c, 0.1, 0, 0, {100, 10}) == Approx(0.05));
  CHECK(scheduledLr(c, 0.1, 1, 0, {100, 10}) == Approx(0.04375));  // 0.1 * (0.5 - 0.0625)
  CHECK(scheduledLr(c, 0.1, 2, 0, {100, 10}) == Approx(0.0375));
  CHECK(scheduledLr(c, 0.1, 4, 0, {100, 10}) == Approx(0.025));
  CHECK(scheduledLr(c, 0.1, 57, 5, {100, 10}) == Approx(0.025));  // past total_iters the rate stays
}

TEST_CASE("Linear schedule: total_iters 0 spans the run, in steps or with per_epoch in epochs") {
  sinter_train_config c = linearConfig(1.0f, 0.0f, 0);
  CHECK(scheduledLr(c, 0.2, 0, 0, {8, 2}) == Approx(0.2));
  CHECK(scheduledLr(c, 0.2, 2, 0, {8, 2}) == Approx(0.15));  // 0.2 * (1 - 2 / 8)
  CHECK(scheduledLr(c, 0.2, 6, 1, {8, 2}) == Approx(0.05));
  CHECK(scheduledLr(c, 0.2, 8, 1, {8, 2}) == Approx(0.0).margin(1e-15));
  c.sched_per_epoch = 1;  // t = the epoch, T = the run's epochs: constant within an epoch
  CHECK(scheduledLr(c, 0.2, 0, 0, {8, 4}) == Approx(0.2));
  CHECK(scheduledLr(c, 0.2, 3, 0, {8, 4}) == Approx(0.2));
  CHECK(scheduledLr(c, 0.2, 5, 2, {8, 4}) == Approx(0.1));  // 0.2 * (1 - 2 / 4)
}

TEST_CASE("One-cycle schedule: up from lr / div over pct_start of the steps, then down to lr / div / final_div") {
  // lr 0.1, div 10, final_div 100: initial 0.01, minimum 1e-4; T = 9, pct_start 0.25: the rise ends at step
  // 0.25 * 9 - 1 = 1.25, the fall at step 8.
  const sinter_train_config c = oneCycleConfig(0.25f, 10, 100);
  auto cosine = [](double from, double to, double pct) { return to + (from - to) / 2 * (std::cos(kPi * pct) + 1); };
  CHECK(scheduledLr(c, 0.1, 0, 0, {9, 1}) == Approx(0.01));
  CHECK(scheduledLr(c, 0.1, 1, 0, {9, 1}) == Approx(cosine(0.01, 0.1, 1 / 1.25)));
  CHECK(scheduledLr(c, 0.1, 2, 0, {9, 1}) == Approx(cosine(0.1, 1e-4, 0.75 / 6.75)));
  CHECK(scheduledLr(c, 0.1, 8, 0, {9, 1}) == Approx(1e-4));
  // Halfway down the cosine, the rate is the mean of the peak and the minimum: step 1.25 + 6.75 / 2 is not a
  // step, but with T = 11 and pct_start 3 / 11 the rise ends at step 2 and the fall at 10, halfway at 6.
  const sinter_train_config d = oneCycleConfig(3.0f / 11.0f, 10, 100);
  CHECK(scheduledLr(d, 0.1, 2, 0, {11, 1}) == Approx(0.1).epsilon(1e-6));
  CHECK(scheduledLr(d, 0.1, 6, 0, {11, 1}) == Approx((0.1 + 1e-4) / 2).epsilon(1e-6));
  CHECK(scheduledLr(d, 0.1, 1, 0, {11, 1}) == Approx((0.1 + 0.01) / 2).epsilon(1e-6));  // halfway up
}

TEST_CASE("Linear and one-cycle schedules compose with the warm-up") {
  sinter_train_config c = linearConfig(1.0f, 0.0f, 0);
  c.warmup_steps = 4;
  // Step 1: (1 - 1 / 10) of the rate, times the warm-up's 2 / 4.
  CHECK(scheduledLr(c, 0.1, 1, 0, {10, 1}) == Approx(0.1 * 0.9 * 0.5));
  CHECK(scheduledLr(c, 0.1, 4, 0, {10, 1}) == Approx(0.1 * 0.6));
  sinter_train_config d = oneCycleConfig(0.25f, 10, 100);
  d.warmup_steps = 2;
  CHECK(scheduledLr(d, 0.1, 0, 0, {9, 1}) == Approx(0.01 * 0.5));
  CHECK(scheduledLr(d, 0.1, 8, 0, {9, 1}) == Approx(1e-4));
}
