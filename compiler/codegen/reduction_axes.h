// The loops of a reduction (reduce_sum/mean/max, sum_to): x's axes, with neighbouring fixed axes that are both
// reduced, or both kept, made one. The scheduler splits the first kept axis over the threads and the kernel
// (kernels_reduce.cpp) runs the chunk's range of it, so both read the axes from here.
#pragma once

#include <optional>

#include "compiler/ir/graph.h"

namespace sinter::codegen {

struct ReductionAxes {
  ir::Shape x;     // x's shape, merged
  ir::Shape kept;  // the output's extent along each of those axes: 1 where reduced
  // The outermost kept axis of more than one element, which threads split (each output element is still
  // summed whole, in the same order), if any.
  std::optional<std::size_t> split() const;
};

// The axes of reduction `n` (not argmax or count) over its operand x.
ReductionAxes reductionAxes(const ir::Node& n, const ir::Node& x);

// The axis that threads split for reduction `n` over x: none for argmax and count (kernels of their own).
std::optional<std::size_t> reductionSplit(const ir::Node& n, const ir::Node& x);

}  // namespace sinter::codegen
