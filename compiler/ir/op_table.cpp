// The op table. Each op's attributes and type rule sit together in spec() below; ops.def is the list.
#include "compiler/ir/op_table.h"

#include <fmt/format.h>
#include <algorithm>
#include <map>

#include "compiler/ir/graph.h"

namespace sinter::ir {
namespace {

using Types = std::vector<TensorType>;

bool isStatic(const Dim& d) { return !d.isSymbolic(); }

// ---- shared rules ------------------------------------------------------------------------------

std::string leaf(const Node& n, const Types&, TensorType& out) {
  out = n.type;
  return {};
}

std::string unaryFloat(const Node&, const Types& in, TensorType& out) {
  if (!isFloat(in[0].dtype)) return fmt::format("operand must be floating point, not {}", in[0].str());
  out = in[0];
  return {};
}

// dropout{p, salt}(x): zeroes each element with probability p while training (0 <= p < 1).
std::string dropout(const Node& n, const Types& in, TensorType& out) {
  const double p = n.attrs.getFloat("p");
  if (!(p >= 0 && p < 1)) return fmt::format("dropout probability must be in [0, 1), got {}", p);
  return unaryFloat(n, in, out);
}

// Elementwise binary ops broadcast NumPy-style and need equal dtypes.
std::string binaryBroadcast(const Node&, const Types& in, TensorType& out) {
  if (in[0].dtype != in[1].dtype) return fmt::format("operand dtypes differ: {} vs {}", in[0].str(), in[1].str());
  auto s = broadcastShapes(in[0].shape, in[1].shape);
  if (!s) return fmt::format("shapes do not broadcast: {} vs {}", in[0].str(), in[1].str());
  out = {in[0].dtype, *s};
  return {};
}

// relu_grad(dy, x) and friends: both operands have the result's type.
std::string sameAsBoth(const Node&, const Types& in, TensorType& out) {
  if (!(in[0] == in[1])) return fmt::format("operand types differ: {} vs {}", in[0].str(), in[1].str());
  if (!isFloat(in[0].dtype)) return "operands must be floating point";
  out = in[0];
  return {};
}

std::string checkAxes(const std::vector<std::int64_t>& axes, std::size_t rank) {
  for (std::size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= static_cast<std::int64_t>(rank))
      return fmt::format("axis {} out of range for rank {}", axes[i], rank);
    if (i && axes[i] <= axes[i - 1]) return "axes must be sorted and distinct";
  }
  return {};
}

// reduce_*{axes, keepdims}: the listed axes disappear (or become 1 with keepdims).
std::string reduce(const Node& n, const Types& in, TensorType& out) {
  const auto& axes = n.attrs.getInts("axes");
  if (auto e = checkAxes(axes, in[0].shape.size()); !e.empty()) return e;
  if (!isFloat(in[0].dtype)) return "operand must be floating point";
  const bool keep = n.attrs.getInt("keepdims") != 0;
  out = {in[0].dtype, {}};
  for (std::size_t i = 0; i < in[0].shape.size(); ++i) {
    const bool reduced = std::find(axes.begin(), axes.end(), static_cast<std::int64_t>(i)) != axes.end();
    if (!reduced) out.shape.push_back(in[0].shape[i]);
    else if (keep) out.shape.push_back(Dim::fixed(1));
  }
  return {};
}

// count{axes}(x): the number of elements of x along the axes, as a scalar (symbolic sizes included).
std::string count(const Node& n, const Types& in, TensorType& out) {
  if (auto e = checkAxes(n.attrs.getInts("axes"), in[0].shape.size()); !e.empty()) return e;
  if (!isFloat(in[0].dtype)) return "operand must be floating point";
  out = {in[0].dtype, {}};
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

std::string axisOp(const Node& n, const Types& in, TensorType& out) {
  const std::int64_t axis = n.attrs.getInt("axis");
  if (axis < 0 || axis >= static_cast<std::int64_t>(in[0].shape.size()))
    return fmt::format("axis {} out of range", axis);
  if (!isFloat(in[0].dtype)) return "operand must be floating point";
  out = in[0];
  return {};
}

std::string axisGrad(const Node& n, const Types& in, TensorType& out) {
  if (auto e = sameAsBoth(n, in, out); !e.empty()) return e;
  return axisOp(n, {in[1]}, out);
}

// Elements as (product of fixed dims, sorted symbols): equal for shapes with equally many elements.
std::pair<std::int64_t, std::vector<std::string>> elementCount(const Shape& s) {
  std::int64_t n = 1;
  std::vector<std::string> syms;
  for (const Dim& d : s) {
    if (d.isSymbolic()) syms.push_back(d.symbol);
    else n *= d.size;
  }
  std::sort(syms.begin(), syms.end());
  return {n, syms};
}

std::string reshape(const Node& n, const Types& in, TensorType& out) {
  if (in[0].dtype != n.type.dtype) return "reshape keeps the dtype";
  if (elementCount(in[0].shape) != elementCount(n.type.shape))
    return fmt::format("cannot reshape {} to {}: element counts differ", in[0].str(), n.type.str());
  out = n.type;
  return {};
}

std::string transpose(const Node& n, const Types& in, TensorType& out) {
  const auto& perm = n.attrs.getInts("perm");
  if (perm.size() != in[0].shape.size()) return "perm must list every axis";
  std::vector<std::int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != static_cast<std::int64_t>(i)) return "perm must be a permutation of the axes";
  out = {in[0].dtype, {}};
  for (std::int64_t p : perm) out.shape.push_back(in[0].shape[static_cast<std::size_t>(p)]);
  return {};
}

std::string concat(const Node& n, const Types& in, TensorType& out) {
  const std::int64_t axis = n.attrs.getInt("axis");
  const std::size_t rank = in[0].shape.size();
  if (axis < 0 || axis >= static_cast<std::int64_t>(rank)) return fmt::format("axis {} out of range", axis);
  out = in[0];
  std::int64_t total = 0;
  for (const TensorType& t : in) {
    if (t.dtype != in[0].dtype || t.shape.size() != rank) return "operands must have the same dtype and rank";
    for (std::size_t d = 0; d < rank; ++d)
      if (static_cast<std::int64_t>(d) != axis && !(t.shape[d] == in[0].shape[d]))
        return fmt::format("operands differ in dimension {}: {} vs {}", d, t.str(), in[0].str());
    const Dim& a = t.shape[static_cast<std::size_t>(axis)];
    if (!isStatic(a) && in.size() > 1) return "the concatenated axis must have a fixed size";
    total += a.size;
  }
  if (in.size() > 1) out.shape[static_cast<std::size_t>(axis)] = Dim::fixed(total);
  return {};
}

// slice{axis, start, end, step}: elements start, start+step, ... < end along a fixed-size axis.
std::string sliceShape(const Node& n, const TensorType& x, TensorType& out) {
  const std::int64_t axis = n.attrs.getInt("axis"), start = n.attrs.getInt("start"), end = n.attrs.getInt("end"),
                     step = n.attrs.getInt("step");
  if (axis < 0 || axis >= static_cast<std::int64_t>(x.shape.size())) return fmt::format("axis {} out of range", axis);
  const Dim& d = x.shape[static_cast<std::size_t>(axis)];
  if (!isStatic(d)) return "cannot slice a symbolic dimension";
  if (step < 1 || start < 0 || end > d.size || start >= end)
    return fmt::format("slice {}:{}:{} is empty or outside 0..{}", start, end, step, d.size);
  out = x;
  out.shape[static_cast<std::size_t>(axis)] = Dim::fixed((end - start + step - 1) / step);
  return {};
}

std::string slice(const Node& n, const Types& in, TensorType& out) { return sliceShape(n, in[0], out); }

std::string sliceGrad(const Node& n, const Types& in, TensorType& out) {
  TensorType sliced;
  if (auto e = sliceShape(n, n.type, sliced); !e.empty()) return e;
  if (!(sliced == in[0])) return fmt::format("slicing {} does not give {}", n.type.str(), in[0].str());
  out = n.type;
  return {};
}

// gather(table[V, D...], indices i32[S...]) -> [S..., D...]: rows of the table (an embedding lookup).
std::string gather(const Node&, const Types& in, TensorType& out) {
  if (in[0].shape.empty() || !isFloat(in[0].dtype)) return "table must be a floating tensor of rank >= 1";
  if (in[1].dtype != DType::I32) return "indices must be i32";
  out = {in[0].dtype, in[1].shape};
  out.shape.insert(out.shape.end(), in[0].shape.begin() + 1, in[0].shape.end());
  return {};
}

std::string gatherGrad(const Node& n, const Types& in, TensorType& out) {
  TensorType g;
  if (auto e = gather(n, {n.type, in[1]}, g); !e.empty()) return e;
  if (!(g == in[0])) return fmt::format("gathering from {} does not give {}", n.type.str(), in[0].str());
  out = n.type;
  return {};
}

// matmul [..,M,K]@[..,K,N]; matmul_tn [..,K,M]ᵀ@[..,K,N]; matmul_nt [..,M,K]@[..,N,K]ᵀ. Leading dims broadcast.
template <bool TransA, bool TransB>
std::string matmulRule(const Node&, const Types& in, TensorType& out) {
  const TensorType& a = in[0];
  const TensorType& b = in[1];
  if (a.shape.size() < 2 || b.shape.size() < 2) return "operands must have rank >= 2";
  if (a.dtype != b.dtype || !isFloat(a.dtype)) return "operands must have the same floating dtype";
  const std::size_t ra = a.shape.size(), rb = b.shape.size();
  const Dim& m = TransA ? a.shape[ra - 1] : a.shape[ra - 2];
  const Dim& ka = TransA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Dim& kb = TransB ? b.shape[rb - 1] : b.shape[rb - 2];
  const Dim& n = TransB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (!(ka == kb)) return fmt::format("inner dimensions differ: {} vs {}", ka.str(), kb.str());
  auto batch = broadcastShapes(Shape(a.shape.begin(), a.shape.end() - 2), Shape(b.shape.begin(), b.shape.end() - 2));
  if (!batch) return fmt::format("batch dimensions do not broadcast: {} vs {}", a.str(), b.str());
  out = {a.dtype, *batch};
  out.shape.push_back(m);
  out.shape.push_back(n);
  return {};
}

// ---- convolution and pooling ------------------------------------------------------------------

std::string pair(const Node& n, const char* name, std::int64_t min, std::int64_t v[2]) {
  const auto& p = n.attrs.getInts(name);
  if (p.size() != 2 || p[0] < min || p[1] < min) return fmt::format("{} must be two integers >= {}", name, min);
  v[0] = p[0];
  v[1] = p[1];
  return {};
}

// Output extent of a window op: floor((in + 2 pad - dilation (k - 1) - 1) / stride) + 1.
std::int64_t windowOut(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p, std::int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

// conv2d{stride, padding, dilation}(x[N,C,H,W], w[O,C,KH,KW]) -> [N,O,OH,OW]
std::string convShape(const Node& n, const TensorType& x, const TensorType& w, TensorType& out) {
  if (x.shape.size() != 4 || w.shape.size() != 4) return "conv2d takes x[N,C,H,W] and w[O,C,KH,KW]";
  if (x.dtype != w.dtype || !isFloat(x.dtype)) return "operands must have the same floating dtype";
  for (int i = 1; i < 4; ++i)
    if (!isStatic(x.shape[static_cast<std::size_t>(i)]) || !isStatic(w.shape[static_cast<std::size_t>(i)]))
      return "channels, height and width must have fixed sizes";
  if (!(x.shape[1] == w.shape[1]))
    return fmt::format("x has {} channels, w expects {}", x.shape[1].str(), w.shape[1].str());
  std::int64_t s[2], p[2], d[2];
  for (auto e : {pair(n, "stride", 1, s), pair(n, "padding", 0, p), pair(n, "dilation", 1, d)})
    if (!e.empty()) return e;
  const std::int64_t oh = windowOut(x.shape[2].size, w.shape[2].size, s[0], p[0], d[0]);
  const std::int64_t ow = windowOut(x.shape[3].size, w.shape[3].size, s[1], p[1], d[1]);
  if (oh < 1 || ow < 1) return "the kernel is larger than the padded input";
  if (!isStatic(w.shape[0])) return "the number of filters must be fixed";
  out = {x.dtype, {x.shape[0], w.shape[0], Dim::fixed(oh), Dim::fixed(ow)}};
  return {};
}

std::string conv2d(const Node& n, const Types& in, TensorType& out) { return convShape(n, in[0], in[1], out); }

// conv2d_grad_input(dy, w) : type of x;  conv2d_grad_weight(x, dy) : type of w
std::string conv2dGradInput(const Node& n, const Types& in, TensorType& out) {
  TensorType y;
  if (auto e = convShape(n, n.type, in[1], y); !e.empty()) return e;
  if (!(y == in[0])) return fmt::format("dy is {}, the convolution gives {}", in[0].str(), y.str());
  out = n.type;
  return {};
}

std::string conv2dGradWeight(const Node& n, const Types& in, TensorType& out) {
  TensorType y;
  if (auto e = convShape(n, in[0], n.type, y); !e.empty()) return e;
  if (!(y == in[1])) return fmt::format("dy is {}, the convolution gives {}", in[1].str(), y.str());
  out = n.type;
  return {};
}

// *_pool2d{kernel, stride, padding}(x[N,C,H,W]) -> [N,C,OH,OW]
std::string poolShape(const Node& n, const TensorType& x, TensorType& out) {
  if (x.shape.size() != 4 || !isFloat(x.dtype)) return "pooling takes a floating x[N,C,H,W]";
  if (!isStatic(x.shape[2]) || !isStatic(x.shape[3])) return "height and width must have fixed sizes";
  std::int64_t k[2], s[2], p[2];
  for (auto e : {pair(n, "kernel", 1, k), pair(n, "stride", 1, s), pair(n, "padding", 0, p)})
    if (!e.empty()) return e;
  if (p[0] * 2 > k[0] || p[1] * 2 > k[1]) return "padding must be at most half the kernel";
  const std::int64_t oh = windowOut(x.shape[2].size, k[0], s[0], p[0], 1),
                     ow = windowOut(x.shape[3].size, k[1], s[1], p[1], 1);
  if (oh < 1 || ow < 1) return "the window is larger than the padded input";
  out = {x.dtype, {x.shape[0], x.shape[1], Dim::fixed(oh), Dim::fixed(ow)}};
  return {};
}

std::string pool(const Node& n, const Types& in, TensorType& out) { return poolShape(n, in[0], out); }

std::string maxPoolGrad(const Node& n, const Types& in, TensorType& out) {
  TensorType y;
  if (auto e = poolShape(n, in[1], y); !e.empty()) return e;
  if (!(y == in[0])) return fmt::format("dy is {}, pooling gives {}", in[0].str(), y.str());
  out = in[1];
  return {};
}

std::string avgPoolGrad(const Node& n, const Types& in, TensorType& out) {
  TensorType y;
  if (auto e = poolShape(n, n.type, y); !e.empty()) return e;
  if (!(y == in[0])) return fmt::format("dy is {}, pooling gives {}", in[0].str(), y.str());
  out = n.type;
  return {};
}

// ---- losses -----------------------------------------------------------------------------------

// cross_entropy(logits[N,C], labels[N] i32) -> []: mean over N.
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

// soft_cross_entropy(logits[N,C], targets[N,C]) -> []: mean over N of -Σ_c t log_softmax(x).
std::string softCrossEntropy(const Node&, const Types& in, TensorType& out) {
  if (in[0].shape.size() != 2 || !isFloat(in[0].dtype)) return "logits must be a floating [N,C] tensor";
  if (!(in[0] == in[1])) return fmt::format("targets {} must have the type of the logits {}", in[1].str(), in[0].str());
  out = {in[0].dtype, {}};
  return {};
}

// mse(pred, target), bce_with_logits(logits, targets) -> []: the mean over every element. The operands
// have one type: a loss that broadcast [N,1] against [N] would quietly average an N×N matrix.
std::string elementwiseLoss(const Node&, const Types& in, TensorType& out) {
  if (!isFloat(in[0].dtype)) return "operands must be floating point";
  if (!(in[0] == in[1])) return fmt::format("operand types differ: {} vs {}", in[0].str(), in[1].str());
  out = {in[0].dtype, {}};
  return {};
}

// ---- the table --------------------------------------------------------------------------------

struct Spec {
  TypeRule rule;
  std::vector<AttrSpec> attrs = {};
  bool carriesType = false;
};

Spec spec(Op op) {
  const AttrSpec axes{"axes", AttrKind::Ints}, keepdims{"keepdims", AttrKind::Int}, axis{"axis", AttrKind::Int};
  const std::vector<AttrSpec> sliceAttrs = {
      axis, {"start", AttrKind::Int}, {"end", AttrKind::Int}, {"step", AttrKind::Int}};
  const std::vector<AttrSpec> convAttrs = {
      {"stride", AttrKind::Ints}, {"padding", AttrKind::Ints}, {"dilation", AttrKind::Ints}};
  const std::vector<AttrSpec> poolAttrs = {
      {"kernel", AttrKind::Ints}, {"stride", AttrKind::Ints}, {"padding", AttrKind::Ints}};
  switch (op) {
    case Op::Input:
    case Op::Param:
    case Op::Constant: return {leaf, {}, true};
    case Op::Neg:
    case Op::Exp:
    case Op::Log:
    case Op::Sqrt:
    case Op::Abs:
    case Op::Sign:
    case Op::Sigmoid:
    case Op::Tanh:
    case Op::Relu:
    case Op::Gelu:
    case Op::Softplus:
    case Op::StopGradient: return {unaryFloat};
    case Op::LeakyRelu: return {unaryFloat, {{"alpha", AttrKind::Float}}};
    case Op::Dropout:
    case Op::DropoutGrad: return {dropout, {{"p", AttrKind::Float}, {"salt", AttrKind::Int}}};
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
    case Op::Pow:
    case Op::Maximum:
    case Op::Minimum:
    case Op::GreaterEqual: return {binaryBroadcast};
    case Op::ReluGrad:
    case Op::GeluGrad: return {sameAsBoth};
    case Op::LeakyReluGrad: return {sameAsBoth, {{"alpha", AttrKind::Float}}};
    case Op::ReduceSum:
    case Op::ReduceMean:
    case Op::ReduceMax: return {reduce, {axes, keepdims}};
    case Op::Count: return {count, {axes}};
    case Op::SumTo: return {sumTo, {}, true};
    case Op::Broadcast: return {broadcast, {}, true};
    case Op::Softmax:
    case Op::LogSoftmax: return {axisOp, {axis}};
    case Op::SoftmaxGrad:
    case Op::LogSoftmaxGrad: return {axisGrad, {axis}};
    case Op::Reshape: return {reshape, {}, true};
    case Op::Transpose: return {transpose, {{"perm", AttrKind::Ints}}};
    case Op::Concat: return {concat, {axis}};
    case Op::Slice: return {slice, sliceAttrs};
    case Op::SliceGrad: return {sliceGrad, sliceAttrs, true};
    case Op::Gather: return {gather};
    case Op::GatherGrad: return {gatherGrad, {}, true};
    case Op::MatMul: return {matmulRule<false, false>};
    case Op::MatMulTN: return {matmulRule<true, false>};
    case Op::MatMulNT: return {matmulRule<false, true>};
    case Op::Conv2D: return {conv2d, convAttrs};
    case Op::Conv2DGradInput: return {conv2dGradInput, convAttrs, true};
    case Op::Conv2DGradWeight: return {conv2dGradWeight, convAttrs, true};
    case Op::MaxPool2D:
    case Op::AvgPool2D: return {pool, poolAttrs};
    case Op::MaxPool2DGrad: return {maxPoolGrad, poolAttrs};
    case Op::AvgPool2DGrad: return {avgPoolGrad, poolAttrs, true};
    case Op::CrossEntropy: return {crossEntropy};
    case Op::CrossEntropyGrad: return {crossEntropyGrad};
    case Op::SoftCrossEntropy: return {softCrossEntropy};
    case Op::Mse:
    case Op::BceWithLogits: return {elementwiseLoss};
  }
  return {nullptr};
}

std::vector<OpInfo> buildTable() {
  std::vector<OpInfo> t;
#define SINTER_OP(id, name, arity, flags)                                      \
  {                                                                            \
    Spec s = spec(Op::id);                                                     \
    t.push_back({Op::id, name, arity, flags, s.rule, s.attrs, s.carriesType}); \
  }
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
