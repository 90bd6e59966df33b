// The op table. Each entry's type rule sits next to it; see ops.def for the list itself.
#include "compiler/ir/op_table.h"

#include <array>
#include <fmt/format.h>

#include "compiler/ir/graph.h"

namespace sinter::ir {
namespace {

using Types = std::vector<TensorType>;

std::string leaf(const Node& n, const Types&, TensorType& out) {
  out = n.type;
  return {};
}

// Elementwise binary ops broadcast NumPy-style and need equal dtypes.
std::string binaryBroadcast(const Node&, const Types& in, TensorType& out) {
  if (in[0].dtype != in[1].dtype)
    return fmt::format("operand dtypes differ: {} vs {}", in[0].str(), in[1].str());
  auto s = broadcastShapes(in[0].shape, in[1].shape);
  if (!s) return fmt::format("shapes do not broadcast: {} vs {}", in[0].str(), in[1].str());
  out = {in[0].dtype, *s};
  return {};
}

std::string sameAsFirst(const Node&, const Types& in, TensorType& out) {
  if (!isFloat(in[0].dtype)) return "operand must be floating point";
  out = in[0];
  return {};
}

// relu_grad(dy, x), softmax_grad(dy, y): both operands have the result's type.
std::string sameAsBoth(const Node&, const Types& in, TensorType& out) {
  if (!(in[0] == in[1])) return fmt::format("operand types differ: {} vs {}", in[0].str(), in[1].str());
  out = in[0];
  return {};
}

// matmul [M,K]@[K,N]; matmul_tn [K,M]ᵀ@[K,N]; matmul_nt [M,K]@[N,K]ᵀ. All give [M,N].
template <bool TransA, bool TransB>
std::string matmulRule(const Node&, const Types& in, TensorType& out) {
  const TensorType& a = in[0];
  const TensorType& b = in[1];
  if (a.shape.size() != 2 || b.shape.size() != 2) return "operands must be rank 2";
  if (a.dtype != b.dtype || !isFloat(a.dtype)) return "operands must have the same floating dtype";
  const Dim& m = TransA ? a.shape[1] : a.shape[0];
  const Dim& ka = TransA ? a.shape[0] : a.shape[1];
  const Dim& kb = TransB ? b.shape[1] : b.shape[0];
  const Dim& n = TransB ? b.shape[0] : b.shape[1];
  if (!(ka == kb)) return fmt::format("inner dimensions differ: {} vs {}", ka.str(), kb.str());
  out = {a.dtype, {m, n}};
  return {};
}

// cross_entropy(logits[N,C], labels[N] i32) -> f32[] (mean over N).
std::string crossEntropy(const Node&, const Types& in, TensorType& out) {
  if (in[0].shape.size() != 2 || !isFloat(in[0].dtype)) return "logits must be a floating [N,C] tensor";
  if (in[1].shape.size() != 1 || in[1].dtype != DType::I32) return "labels must be i32[N]";
  if (!(in[0].shape[0] == in[1].shape[0])) return "logits and labels disagree on N";
  out = {in[0].dtype, {}};
  return {};
}

// cross_entropy_grad(dloss[], logits[N,C], labels[N]) -> [N,C].
std::string crossEntropyGrad(const Node& n, const Types& in, TensorType& out) {
  if (!in[0].shape.empty()) return "dloss must be a scalar";
  TensorType scalar;
  if (auto e = crossEntropy(n, {in[1], in[2]}, scalar); !e.empty()) return e;
  out = in[1];
  return {};
}

// sum_to and broadcast carry their result type; the operand must broadcast to / from it.
std::string sumTo(const Node& n, const Types& in, TensorType& out) {
  auto s = broadcastShapes(in[0].shape, n.type.shape);
  if (!s || !(*s == in[0].shape) || in[0].dtype != n.type.dtype)
    return fmt::format("{} does not reduce to {}", in[0].str(), n.type.str());
  out = n.type;
  return {};
}

std::string broadcast(const Node& n, const Types& in, TensorType& out) {
  auto s = broadcastShapes(in[0].shape, n.type.shape);
  if (!s || !(*s == n.type.shape) || in[0].dtype != n.type.dtype)
    return fmt::format("{} does not broadcast to {}", in[0].str(), n.type.str());
  out = n.type;
  return {};
}

TypeRule ruleFor(Op op) {
  switch (op) {
    case Op::Input:
    case Op::Param:
    case Op::Constant: return leaf;
    case Op::Add:
    case Op::Mul: return binaryBroadcast;
    case Op::Relu:
    case Op::Softmax: return sameAsFirst;
    case Op::ReluGrad:
    case Op::SoftmaxGrad: return sameAsBoth;
    case Op::MatMul: return matmulRule<false, false>;
    case Op::MatMulTN: return matmulRule<true, false>;
    case Op::MatMulNT: return matmulRule<false, true>;
    case Op::CrossEntropy: return crossEntropy;
    case Op::CrossEntropyGrad: return crossEntropyGrad;
    case Op::SumTo: return sumTo;
    case Op::Broadcast: return broadcast;
  }
  return nullptr;
}

std::vector<OpInfo> buildTable() {
  std::vector<OpInfo> t;
#define SINTER_OP(id, name, arity, flags) t.push_back({Op::id, name, arity, flags, ruleFor(Op::id)});
#include "compiler/ir/ops.def"
#undef SINTER_OP
  return t;
}

}  // namespace

const std::vector<OpInfo>& allOps() {
  static const std::vector<OpInfo> table = buildTable();
  return table;
}

const OpInfo& opInfo(Op op) { return allOps()[static_cast<std::size_t>(op)]; }

std::optional<Op> opFromName(std::string_view name) {
  for (const OpInfo& i : allOps())
    if (i.name == name) return i.op;
  return std::nullopt;
}

}  // namespace sinter::ir
