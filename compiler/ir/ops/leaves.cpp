// Leaves: the graph's arguments and constants.
#include "compiler/ir/ops/common.h"

namespace sinter::ir::ops {
namespace {

// Leaves carry their type; the verifier checks only that it is well formed.
std::string leaf(const Node& n, const Types&, TensorType& out) {
  out = n.type;
  return {};
}

Tensor fill(const RefCall& c) {
  Tensor r = Tensor::zeros(c.shape);
  std::fill(r.data.begin(), r.data.end(), c.node.scalar);
  return r;
}

}  // namespace

OpFamily leafOps() {
  return {"Leaves", "leaves.cpp", {
      {.op = Op::Input, .name = "input", .arity = 0, .flags = kLeaf, .carriesType = true, .typeRule = leaf,
       .doc = "a graph argument the caller passes: `%image: f32[batch,784] input`",
       .grad = {zeroGradient, "none: a leaf"}, .kernel = KernelKind::None},
      {.op = Op::Param, .name = "param", .arity = 0, .flags = kLeaf, .carriesType = true, .typeRule = leaf,
       .doc = "a trained argument with its initializer: `%w: f32[784,256] param = he_normal`",
       .grad = {zeroGradient, "none: a leaf (its adjoint is the gradient)"}, .kernel = KernelKind::None},
      {.op = Op::Constant, .name = "constant", .arity = 0, .flags = kLeaf, .carriesType = true, .typeRule = leaf,
       .doc = "every element holds one value: `constant 0.5 : f32[batch,10]`",
       .grad = {zeroGradient, "none"}, .reference = fill, .kernel = KernelKind::Fill},
  }};
}

}  // namespace sinter::ir::ops
