// What the training driver says when values go bad: the first non-finite tensor of a failed step, by
// name, and a warning when the loss grows by orders of magnitude while it is still finite.
#pragma once

#include "runtime/model_layout.h"

#include <sinter/model_abi.h>

#include <cstdint>
#include <optional>
#include <string>

namespace sinter::rt {

// The first non-finite element of n values of `dtype` (f32 or f64), or -1.
int64_t firstNonFinite(const void* p, int32_t dtype, int64_t n);

// "NaN", "+inf" or "-inf".
std::string valueName(double v);

// After a non-finite loss or gradient: names the first tensor, in data-flow order, that holds a
// non-finite value: the batch's samples, the params, the forward outputs (forward runs again), the loss,
// the gradients. `bs` is the batch's size.
std::string diagnoseNonFinite(const sinter_model_desc& m, const Layout& l, Buffers& b, int64_t bs);

// "param 'b' became NaN (element 1)": param i after an update that made it non-finite.
std::string nonFiniteParamText(const sinter_model_desc& m, const Layout& l, const Buffers& b, int32_t i);

// Watches the batch losses of a run for divergence that has not reached infinity yet (Adam at a huge
// learning rate climbs to 1e22 and stays finite): the first time a loss exceeds kFactor times the run's
// first loss (or times kFloor, when the first is tiny), observe() returns the warning's text, once.
class DivergenceWatch {
 public:
  static constexpr double kFactor = 1000, kFloor = 1e-3;
  std::string observe(double loss);

 private:
  std::optional<double> first_;
  bool warned_ = false;
};

}  // namespace sinter::rt
