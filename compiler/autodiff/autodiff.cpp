// Reverse-mode differentiation: one rule per op, each next to its formula. docs/autodiff.md lists them.
#include "compiler/autodiff/autodiff.h"

#include <fmt/format.h>
#include <stdexcept>

namespace sinter::autodiff {
namespace {

using ir::Attrs;
using ir::Node;
using ir::NodeId;
using ir::Op;
using ir::TensorType;

class Differentiator {
 public:
  explicit Differentiator(ir::Graph& g) : g_(g), adjoint_(g.nodes.size(), -1), dependsOnParam_(g.nodes.size(), false) {
    for (const Node& n : g.nodes) {
      bool dep = n.op == Op::Param;
      for (NodeId o : n.operands) dep = dep || dependsOnParam_[static_cast<std::size_t>(o)];
      dependsOnParam_[static_cast<std::size_t>(n.id)] = dep;
    }
  }

  void seed(NodeId loss) { adjoint_[static_cast<std::size_t>(loss)] = constantFor(1.0, loss, g_.node(loss).type); }

  // Visits forward nodes in reverse topological order, pushing each node's adjoint to its operands.
  void run(NodeId last) {
    for (NodeId id = last; id >= 0; --id) {
      const NodeId dy = adjoint_[static_cast<std::size_t>(id)];
      if (dy >= 0) pushToOperands(id, dy);
    }
    if (!missing_.empty()) {
      std::string msg = "no gradient rule for:";
      for (const auto& m : missing_) msg += "\n  " + m;
      throw std::logic_error(msg);
    }
  }

  NodeId adjointOf(NodeId id) const { return adjoint_[static_cast<std::size_t>(id)]; }

 private:
  ir::Graph& g_;
  std::vector<NodeId> adjoint_;  // forward node -> node holding d(loss)/d(node), or -1
  std::vector<bool> dependsOnParam_;
  std::vector<std::string> missing_;  // ops on a gradient path without a rule, with their locations
  NodeId fwd_ = -1;                   // the forward node whose rule is running
  int wrt_ = -1;                      // and the operand it differentiates

  const TensorType& type(NodeId id) const { return g_.node(id).type; }

  // Appends a backward node marked with the forward node and operand it belongs to.
  NodeId emit(Op op, std::vector<NodeId> operands, Attrs attrs = {}, TensorType carried = {}) {
    Node n;
    n.op = op;
    n.operands = std::move(operands);
    n.attrs = std::move(attrs);
    n.type = std::move(carried);  // read only by ops whose result type is carried
    n.loc = g_.node(fwd_).loc;
    n.gradOf = fwd_;
    n.gradOperand = wrt_;
    return g_.add(std::move(n));
  }

  NodeId constantFor(double v, NodeId of, TensorType t) {
    NodeId id = g_.addConstant(v, std::move(t), g_.node(of).loc);
    g_.node(id).gradOf = of;
    g_.node(id).gradOperand = of == fwd_ ? wrt_ : -1;
    return id;
  }
  // A scalar of x's dtype.
  NodeId scalar(double v, NodeId like) { return constantFor(v, fwd_, {type(like).dtype, {}}); }

  // Undoes broadcasting: the adjoint of an operand has the operand's shape.
  NodeId sumTo(NodeId dy, NodeId operand) {
    if (type(dy) == type(operand)) return dy;
    return emit(Op::SumTo, {dy}, {}, type(operand));
  }
  NodeId broadcastTo(NodeId x, const TensorType& t) { return type(x) == t ? x : emit(Op::Broadcast, {x}, {}, t); }

  // The reduced value with its reduced axes kept as size 1, so that it broadcasts against the input.
  NodeId keepDims(NodeId reducedValue, const Node& reduction) {
    if (reduction.attrs.getInt("keepdims")) return reducedValue;
    const TensorType& in = type(reduction.operands[0]);
    TensorType kept = in;
    for (std::int64_t a : reduction.attrs.getInts("axes")) kept.shape[static_cast<std::size_t>(a)] = ir::Dim::fixed(1);
    return emit(Op::Reshape, {reducedValue}, {}, kept);
  }

  static Attrs axesAttr(std::vector<std::int64_t> axes) {
    Attrs a;
    a.set("axes", std::move(axes));
    return a;
  }
  static Attrs axisAttr(std::int64_t axis) {
    Attrs a;
    a.set("axis", axis);
    return a;
  }
  // The number of elements of x, as a scalar of x's dtype (symbolic sizes included).
  NodeId countAll(NodeId x) {
    std::vector<std::int64_t> all(type(x).shape.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<std::int64_t>(i);
    return emit(Op::Count, {x}, axesAttr(all));
  }

  void accumulate(NodeId target, NodeId grad) {
    NodeId& slot = adjoint_[static_cast<std::size_t>(target)];
    slot = slot < 0 ? grad : emit(Op::Add, {slot, grad});
  }

  bool needsGrad(NodeId id) const {
    const Node& n = g_.node(id);
    return ir::isFloat(n.type.dtype) && dependsOnParam_[static_cast<std::size_t>(id)];
  }

  void pushToOperands(NodeId id, NodeId dy);
};

void Differentiator::pushToOperands(NodeId id, NodeId dy) {
  const Node n = g_.node(id);  // a copy: emitting nodes grows g_.nodes
  fwd_ = id;
  auto x = [&](int i) { return n.operands[static_cast<std::size_t>(i)]; };
  auto to = [&](int i, auto&& makeGrad) {
    if (!needsGrad(x(i))) return;
    wrt_ = i;
    accumulate(x(i), makeGrad());
  };
  auto none = [&] {
    if (!needsGrad(x(0)) && (n.operands.size() < 2 || !needsGrad(x(1)))) return;
    missing_.push_back(fmt::format("{} at {}", ir::opName(n.op), n.loc.valid() ? n.loc.str() : "<no location>"));
  };
  auto one = [&](double v) { return scalar(v, id); };
  switch (n.op) {
    case Op::Input:
    case Op::Param:
    case Op::Constant:
    case Op::Sign:          // piecewise constant: zero gradient
    case Op::GreaterEqual:  // piecewise constant: zero gradient
    case Op::Count:         // depends on shapes only
    case Op::StopGradient:  // cuts the path by definition
      return;
    case Op::Neg:  // d(-x) = -dy
      return to(0, [&] { return emit(Op::Neg, {dy}); });
    case Op::Exp:  // d e^x = dy e^x = dy y
      return to(0, [&] { return emit(Op::Mul, {dy, id}); });
    case Op::Log:  // d log x = dy / x
      return to(0, [&] { return emit(Op::Div, {dy, x(0)}); });
    case Op::Sqrt:  // d sqrt x = dy / (2 y)
      return to(0, [&] { return emit(Op::Div, {dy, emit(Op::Mul, {id, one(2)})}); });
    case Op::Abs:  // d |x| = dy sign(x)
      return to(0, [&] { return emit(Op::Mul, {dy, emit(Op::Sign, {x(0)})}); });
    case Op::Sigmoid:  // d σ(x) = dy y (1 - y)
      return to(0, [&] { return emit(Op::Mul, {dy, emit(Op::Mul, {id, emit(Op::Sub, {one(1), id})})}); });
    case Op::Tanh:  // d tanh x = dy (1 - y²)
      return to(0, [&] { return emit(Op::Mul, {dy, emit(Op::Sub, {one(1), emit(Op::Mul, {id, id})})}); });
    case Op::Relu:  // d relu x = dy [x > 0]
      return to(0, [&] { return emit(Op::ReluGrad, {dy, x(0)}); });
    case Op::LeakyRelu:  // d = dy (x > 0 ? 1 : alpha)
      return to(0, [&] { return emit(Op::LeakyReluGrad, {dy, x(0)}, n.attrs); });
    case Op::Gelu:  // d x Φ(x) = dy (Φ(x) + x φ(x))
      return to(0, [&] { return emit(Op::GeluGrad, {dy, x(0)}); });
    case Op::Dropout:  // y = x m: dx = dy m, the same mask recomputed from the same seed and salt
      return to(0, [&] { return emit(Op::DropoutGrad, {dy}, n.attrs); });
    case Op::DropoutGrad:  // linear in dy with the same mask
      return to(0, [&] { return emit(Op::DropoutGrad, {dy}, n.attrs); });
    case Op::Softplus:  // d log(1 + e^x) = dy σ(x)
      return to(0, [&] { return emit(Op::Mul, {dy, emit(Op::Sigmoid, {x(0)})}); });
    case Op::Add:  // d(a + b) = dy, dy; summed over broadcast axes
      to(0, [&] { return sumTo(dy, x(0)); });
      return to(1, [&] { return sumTo(dy, x(1)); });
    case Op::Sub:  // d(a - b) = dy, -dy
      to(0, [&] { return sumTo(dy, x(0)); });
      return to(1, [&] { return sumTo(emit(Op::Neg, {dy}), x(1)); });
    case Op::Mul:  // d(a b) = dy b, dy a
      to(0, [&] { return sumTo(emit(Op::Mul, {dy, x(1)}), x(0)); });
      return to(1, [&] { return sumTo(emit(Op::Mul, {dy, x(0)}), x(1)); });
    case Op::Div:  // d(a / b) = dy / b, -dy a / b² = -dy y / b
      to(0, [&] { return sumTo(emit(Op::Div, {dy, x(1)}), x(0)); });
      return to(1, [&] { return sumTo(emit(Op::Neg, {emit(Op::Mul, {dy, emit(Op::Div, {id, x(1)})})}), x(1)); });
    case Op::Pow:  // d a^b = dy b a^(b-1), dy y log a
      to(0, [&] {
        NodeId aPow = emit(Op::Pow, {x(0), emit(Op::Sub, {x(1), one(1)})});
        return sumTo(emit(Op::Mul, {dy, emit(Op::Mul, {x(1), aPow})}), x(0));
      });
      return to(1, [&] { return sumTo(emit(Op::Mul, {dy, emit(Op::Mul, {id, emit(Op::Log, {x(0)})})}), x(1)); });
    case Op::Maximum:    // d max(a, b) = dy [a >= b], dy [a < b]
    case Op::Minimum: {  // d min(a, b) = dy [b >= a], dy [b < a]
      const bool mx = n.op == Op::Maximum;
      wrt_ = 0;
      NodeId mask = emit(Op::GreaterEqual, {mx ? x(0) : x(1), mx ? x(1) : x(0)});
      to(0, [&] { return sumTo(emit(Op::Mul, {dy, mask}), x(0)); });
      return to(1, [&] { return sumTo(emit(Op::Mul, {dy, emit(Op::Sub, {one(1), mask})}), x(1)); });
    }
    case Op::ReduceSum:  // d Σ x = dy broadcast back over the summed axes
      return to(0, [&] { return broadcastTo(keepDims(dy, n), type(x(0))); });
    case Op::ReduceMean:  // d mean x = dy / count, broadcast back
      return to(0, [&] {
        Attrs axes;
        axes.set("axes", n.attrs.getInts("axes"));
        NodeId count = emit(Op::Count, {x(0)}, axes);
        return emit(Op::Div, {broadcastTo(keepDims(dy, n), type(x(0))), count});
      });
    case Op::ReduceMax:  // d max x = dy at the maxima, shared equally between ties (as torch.amax)
      return to(0, [&] {
        NodeId mask = emit(Op::GreaterEqual, {x(0), broadcastTo(keepDims(id, n), type(x(0)))});
        Attrs sum;
        sum.set("axes", n.attrs.getInts("axes"));
        sum.set("keepdims", std::int64_t{1});
        NodeId ties = emit(Op::ReduceSum, {mask}, sum);
        return emit(Op::Mul, {broadcastTo(emit(Op::Div, {keepDims(dy, n), ties}), type(x(0))), mask});
      });
    case Op::SumTo:  // the adjoint of a sum is broadcast back
      return to(0, [&] { return broadcastTo(dy, type(x(0))); });
    case Op::Broadcast:  // the adjoint of a broadcast is summed back
      return to(0, [&] { return sumTo(dy, x(0)); });
    case Op::Softmax:  // dx = y (dy - Σ dy y) along the axis
      return to(0, [&] { return emit(Op::SoftmaxGrad, {dy, id}, n.attrs); });
    case Op::LogSoftmax:  // dx = dy - softmax(x) Σ dy = dy - e^y Σ dy
      return to(0, [&] { return emit(Op::LogSoftmaxGrad, {dy, id}, n.attrs); });
    case Op::Reshape:  // reshape back
      return to(0, [&] { return emit(Op::Reshape, {dy}, {}, type(x(0))); });
    case Op::Transpose:  // transpose by the inverse permutation
      return to(0, [&] {
        const auto& perm = n.attrs.getInts("perm");
        std::vector<std::int64_t> inv(perm.size());
        for (std::size_t i = 0; i < perm.size(); ++i)
          inv[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
        Attrs a;
        a.set("perm", inv);
        return emit(Op::Transpose, {dy}, a);
      });
    case Op::Concat: {  // each operand gets its slice of dy
      const std::int64_t axis = n.attrs.getInt("axis");
      std::int64_t start = 0;
      for (int i = 0; i < static_cast<int>(n.operands.size()); ++i) {
        const std::int64_t len = type(x(i)).shape[static_cast<std::size_t>(axis)].size;
        to(i, [&] {
          if (n.operands.size() == 1) return dy;
          Attrs a;
          a.set("axis", axis);
          a.set("start", start);
          a.set("end", start + len);
          a.set("step", std::int64_t{1});
          return emit(Op::Slice, {dy}, a);
        });
        start += len;
      }
      return;
    }
    case Op::Slice:  // dy placed back into zeros of x's shape
      return to(0, [&] { return emit(Op::SliceGrad, {dy}, n.attrs, type(x(0))); });
    case Op::Gather:  // rows of dy scatter-added into the table; indices get nothing
      return to(0, [&] { return emit(Op::GatherGrad, {dy, x(1)}, {}, type(x(0))); });
    case Op::MatMul:  // C = A B: dA = dC Bᵀ, dB = Aᵀ dC (summed over broadcast batch dims)
      to(0, [&] { return sumTo(emit(Op::MatMulNT, {dy, x(1)}), x(0)); });
      return to(1, [&] { return sumTo(emit(Op::MatMulTN, {x(0), dy}), x(1)); });
    case Op::MatMulTN:  // C = Aᵀ B: dA = B dCᵀ, dB = A dC
      to(0, [&] { return sumTo(emit(Op::MatMulNT, {x(1), dy}), x(0)); });
      return to(1, [&] { return sumTo(emit(Op::MatMul, {x(0), dy}), x(1)); });
    case Op::MatMulNT:  // C = A Bᵀ: dA = dC B, dB = dCᵀ A
      to(0, [&] { return sumTo(emit(Op::MatMul, {dy, x(1)}), x(0)); });
      return to(1, [&] { return sumTo(emit(Op::MatMulTN, {dy, x(0)}), x(1)); });
    case Op::Conv2D:  // y = x ⋆ w: dx = conv2d_grad_input(dy, w), dw = conv2d_grad_weight(x, dy)
      to(0, [&] { return emit(Op::Conv2DGradInput, {dy, x(1)}, n.attrs, type(x(0))); });
      return to(1, [&] { return emit(Op::Conv2DGradWeight, {x(0), dy}, n.attrs, type(x(1))); });
    case Op::MaxPool2D:  // dy routed to the maximum of each window
      return to(0, [&] { return emit(Op::MaxPool2DGrad, {dy, x(0)}, n.attrs); });
    case Op::AvgPool2D:  // dy spread evenly over each window
      return to(0, [&] { return emit(Op::AvgPool2DGrad, {dy}, n.attrs, type(x(0))); });
    case Op::CrossEntropy:  // L = mean(logsumexp(x) - x[label]): dx = dL (softmax(x) - onehot) / N
      return to(0, [&] { return emit(Op::CrossEntropyGrad, {dy, x(0), x(1)}); });
    case Op::SoftCrossEntropy: {  // L = mean_i Σ_c t (lse(x_i) - x_ic): dx = dL (softmax(x) Σ_c t - t) / N,
                                  //                                    dt = -dL log_softmax(x) / N
      wrt_ = 0;
      NodeId scale = emit(Op::Div, {dy, emit(Op::Count, {x(0)}, axesAttr({0}))});
      to(0, [&] {
        Attrs rows = axesAttr({1});
        rows.set("keepdims", std::int64_t{1});
        NodeId mass = emit(Op::ReduceSum, {x(1)}, rows);  // 1 for one-hot and probability targets
        NodeId p = emit(Op::Softmax, {x(0)}, axisAttr(1));
        return emit(Op::Mul, {emit(Op::Sub, {emit(Op::Mul, {p, mass}), x(1)}), scale});
      });
      return to(1, [&] { return emit(Op::Mul, {emit(Op::LogSoftmax, {x(0)}, axisAttr(1)), emit(Op::Neg, {scale})}); });
    }
    case Op::Mse: {  // L = mean (a - b)²: da = dL 2 (a - b) / n, db = -da
      wrt_ = 0;
      NodeId da =
          emit(Op::Mul, {emit(Op::Sub, {x(0), x(1)}), emit(Op::Div, {emit(Op::Mul, {dy, one(2)}), countAll(x(0))})});
      to(0, [&] { return da; });
      return to(1, [&] { return emit(Op::Neg, {da}); });
    }
    case Op::BceWithLogits: {  // L = mean softplus(x) - x t: dx = dL (σ(x) - t) / n, dt = -dL x / n
      wrt_ = 0;
      NodeId scale = emit(Op::Div, {dy, countAll(x(0))});
      to(0, [&] { return emit(Op::Mul, {emit(Op::Sub, {emit(Op::Sigmoid, {x(0)}), x(1)}), scale}); });
      return to(1, [&] { return emit(Op::Mul, {x(0), emit(Op::Neg, {scale})}); });
    }

    // Second order: the backward ops that are linear in their first operand.
    case Op::ReluGrad:  // relu_grad(g, x) is linear in g and piecewise constant in x
      return to(0, [&] { return emit(Op::ReluGrad, {dy, x(1)}); });
    case Op::LeakyReluGrad: return to(0, [&] { return emit(Op::LeakyReluGrad, {dy, x(1)}, n.attrs); });
    case Op::SliceGrad:  // linear: its adjoint is the slice
      return to(0, [&] { return emit(Op::Slice, {dy}, n.attrs); });
    case Op::GatherGrad:  // linear in dy: its adjoint gathers
      return to(0, [&] { return emit(Op::Gather, {dy, x(1)}); });
    case Op::AvgPool2DGrad:  // linear: its adjoint is the pooling
      return to(0, [&] { return emit(Op::AvgPool2D, {dy}, n.attrs); });
    case Op::Conv2DGradInput:  // dx = convᵀ(g, w): bilinear in (g, w)
      to(0, [&] { return emit(Op::Conv2D, {dy, x(1)}, n.attrs); });
      return to(1, [&] { return emit(Op::Conv2DGradWeight, {dy, x(0)}, n.attrs, type(x(1))); });
    case Op::Conv2DGradWeight:  // dw = corr(x, g): bilinear in (x, g)
      to(0, [&] { return emit(Op::Conv2DGradInput, {x(1), dy}, n.attrs, type(x(0))); });
      return to(1, [&] { return emit(Op::Conv2D, {x(0), dy}, n.attrs); });
    case Op::GeluGrad:
    case Op::SoftmaxGrad:
    case Op::LogSoftmaxGrad:
    case Op::MaxPool2DGrad:
    case Op::CrossEntropyGrad: return none();
  }
}

}  // namespace

ir::Graph buildTrainStep(const ir::Graph& forward, const std::string& lossName) {
  const ir::Result* loss = forward.findResult(lossName);
  if (!loss) throw std::invalid_argument(fmt::format("'{}' is not a result of graph @{}", lossName, forward.name));
  const ir::TensorType& lt = forward.node(loss->node).type;
  if (!lt.shape.empty() || !ir::isFloat(lt.dtype))
    throw std::invalid_argument(fmt::format("the loss '{}' must be a floating scalar, not {}", lossName, lt.str()));

  ir::Graph g = forward;
  g.name = forward.name + ".train_step";
  g.results.clear();
  Differentiator d(g);
  d.seed(loss->node);
  d.run(loss->node);

  g.results.push_back({lossName, loss->node, ir::Result::Loss});
  for (NodeId p : forward.params) {
    NodeId grad = d.adjointOf(p);
    if (grad < 0) grad = g.addConstant(0.0, g.node(p).type, g.node(p).loc);  // the param does not reach the loss
    g.results.push_back({"grad." + g.node(p).name, grad, ir::Result::Grad});
  }
  return g;
}

}  // namespace sinter::autodiff
