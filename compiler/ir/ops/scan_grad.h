// The gradient rule of scan (compiler/ir/ops/loops.cpp), in its own file: it builds two loops.
#pragma once

#include "compiler/ir/grad_builder.h"

namespace sinter::ir::ops {

// d/d operands of one result of a scan: the reverse scan of the body's vector-Jacobian product (docs/autodiff.md).
void scanGradient(GradBuilder& d);

}  // namespace sinter::ir::ops
