// The small model the checkpoint fuzz target loads into, and that make_seeds.cpp saves: params w [2, 3]
// and b [3], one optimizer state tensor per param, and the run a training position must belong to.
#pragma once

#include <sinter/model_abi.h>

#include "runtime/checkpoint.h"
#include "runtime/train_position.h"

#include <vector>

namespace sinter::fuzz {

inline const int64_t kWDims[] = {2, 3};
inline const int64_t kBDims[] = {3};
inline const sinter_tensor_desc kParams[] = {{"w", SINTER_F32, 2, kWDims, SINTER_INIT_ZEROS, 0, 0},
                                             {"b", SINTER_F32, 1, kBDims, SINTER_INIT_ZEROS, 0, 0}};
inline constexpr int64_t kStepsPerEpoch = 10;
inline const rt::RunIdentity kRun = {7, 32, SINTER_OPT_ADAM, 300};

inline sinter_model_desc model() {
  sinter_model_desc m{};
  m.abi_version = SINTER_ABI_VERSION;
  m.name = "fuzz";
  m.num_params = 2;
  m.params = kParams;
  return m;
}

// Params and optimizer state to load into (or save from).
struct ModelBuffers {
  std::vector<float> w = std::vector<float>(6), b = std::vector<float>(3), mw = std::vector<float>(6),
                     mb = std::vector<float>(3);
  void* params[2] = {w.data(), b.data()};
  rt::CheckpointExtras extras{{}, {{"optimizer/exp_avg/w", {2, 3}, mw.data()}, {"optimizer/exp_avg/b", {3}, mb.data()}}};
};

}  // namespace sinter::fuzz
