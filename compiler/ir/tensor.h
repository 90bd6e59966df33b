// The reference interpreter's values: f64 tensors with concrete shapes, and how random ops behave.
#pragma once

#include <cstdint>
#include <vector>

namespace sinter::ir {

struct Tensor {
  std::vector<std::int64_t> shape;
  std::vector<double> data;  // row-major; integer tensors hold whole numbers

  static Tensor zeros(std::vector<std::int64_t> shape);
  std::int64_t numel() const;
};

// How random ops behave: dropout drops only while training, with masks drawn from `seed` (the value the
// training driver passes a train step in sym_dims[num_syms]).
struct RunMode {
  bool training = true;
  std::uint64_t seed = 0;
};

}  // namespace sinter::ir
