// One small graph per op, for the tests that cover every op of the table: gradients against central
// differences (test_ops.cpp), generated code against the interpreter (test_ops.cpp), and the table's own
// coverage check (test_op_table.cpp), which fails when an op appears in none of these graphs.
#pragma once

#include <functional>
#include <random>

#include "compiler/autodiff/gradcheck.h"
#include "jit_harness.h"
#include "scan_graphs.h"

namespace sinter::test::ops {

using ir::Attrs;
using ir::Op;

struct Builder {
  ir::Graph g;
  std::map<std::string, std::int64_t> indexRanges;  // i32 inputs and their value range

  ir::NodeId P(const std::string& name, std::vector<ir::Dim> shape) {
    return g.addParam(name, test::f32(std::move(shape)), {});
  }
  ir::NodeId I32(const std::string& name, std::vector<ir::Dim> shape, std::int64_t range) {
    indexRanges[name] = range;
    return g.addInput(name, {ir::DType::I32, std::move(shape)});
  }
  ir::NodeId op(Op o, std::vector<ir::NodeId> xs, Attrs a = {}) { return g.addOp(o, std::move(xs), std::move(a)); }
  ir::NodeId typed(Op o, std::vector<ir::NodeId> xs, ir::TensorType t, Attrs a = {}) {
    return g.addTyped(o, std::move(xs), std::move(t), std::move(a));
  }
  // A positive value: softplus(x) + 0.1, for log, sqrt, pow and division.
  ir::NodeId pos(ir::NodeId x) { return op(Op::Add, {op(Op::Softplus, {x}), g.addConstant(0.1, test::f32({}))}); }
};

inline Attrs attrs(std::initializer_list<std::pair<const char*, ir::AttrValue>> kv) {
  Attrs a;
  for (const auto& [k, v] : kv) a.set(k, v);
  return a;
}
using Ints = std::vector<std::int64_t>;
inline ir::Dim d(std::int64_t n) { return ir::Dim::fixed(n); }

struct OpCase {
  const char* name;
  std::function<ir::NodeId(Builder&)> build;
  bool gradMatches = true;  // false for stop_gradient: its gradient is zero by definition, not by calculus
  bool compiled = true;     // false for scan until code generation compiles loops (issue 16)
};

inline std::vector<OpCase> cases() {
  // An RNN cell (tests/unit/compiler/scan_graphs.h) over `steps` steps, every operand a param.
  auto rnnScan = [](std::int64_t steps, bool reverse, std::int64_t result) {
    return [=](Builder& b) {
      const std::vector<ir::NodeId> operands = {b.P("h0", {test::batch(), d(3)}),
                                                b.P("xs", {test::batch(), d(steps), d(2)}), b.P("wx", {d(2), d(3)}),
                                                b.P("wh", {d(3), d(3)}), b.P("b", {d(3)})};
      const ir::ScanShape s{.axis = 1, .carries = 1, .seqs = 1, .result = 0, .reverse = reverse};
      return test::addScan(b.g, test::rnnCell(2, 3), operands, s, result);
    };
  };
  auto unary = [](Op o, Attrs a = {}) { return [o, a](Builder& b) { return b.op(o, {b.P("x", {d(3), d(5)})}, a); }; };
  auto positive = [](Op o) { return [o](Builder& b) { return b.op(o, {b.pos(b.P("x", {d(3), d(5)}))}); }; };
  auto binary = [](Op o, std::vector<ir::Dim> sa, std::vector<ir::Dim> sb, bool posB = false) {
    return [=](Builder& b) {
      ir::NodeId y = b.P("b", sb);
      return b.op(o, {o == Op::Pow ? b.pos(b.P("a", sa)) : b.P("a", sa), posB ? b.pos(y) : y});
    };
  };
  auto reduce = [](Op o, Ints axes, std::int64_t keep) {
    return [=](Builder& b) {
      return b.op(o, {b.P("x", {d(2), d(3), d(4)})}, attrs({{"axes", axes}, {"keepdims", keep}}));
    };
  };
  auto conv = [](Builder& b) {
    return b.op(Op::Conv2D, {b.P("x", {d(2), d(3), d(7), d(6)}), b.P("w", {d(4), d(3), d(3), d(2)})},
                attrs({{"stride", Ints{2, 1}}, {"padding", Ints{1, 0}}, {"dilation", Ints{1, 2}}}));
  };
  auto pool = [](Op o, Ints k, Ints s, Ints p) {
    return [=](Builder& b) {
      return b.op(o, {b.P("x", {d(2), d(2), d(6), d(5)})}, attrs({{"kernel", k}, {"stride", s}, {"padding", p}}));
    };
  };
  return {
      {"neg", unary(Op::Neg)},
      {"exp", unary(Op::Exp)},
      {"log", positive(Op::Log)},
      {"sqrt", positive(Op::Sqrt)},
      {"abs", unary(Op::Abs)},
      {"sign", unary(Op::Sign)},
      {"sigmoid", unary(Op::Sigmoid)},
      {"tanh", unary(Op::Tanh)},
      {"relu", unary(Op::Relu)},
      {"leaky_relu", unary(Op::LeakyRelu, attrs({{"alpha", 0.1}}))},
      // α < 0: its gradient reads x, not y (whose sign it flips below 0).
      {"leaky_relu, negative alpha", unary(Op::LeakyRelu, attrs({{"alpha", -0.5}}))},
      {"gelu", unary(Op::Gelu)},
      {"softplus", unary(Op::Softplus)},
      {"erf", unary(Op::Erf)},
      {"silu", unary(Op::Silu)},
      {"mish", unary(Op::Mish)},
      // x with a standard deviation of 3.5: values in all three pieces of hardswish (0, the ramp, x).
      {"hardswish",
       [](Builder& b) {
         return b.op(Op::Hardswish, {b.op(Op::Mul, {b.P("x", {d(3), d(5)}), b.g.addConstant(5, test::f32({}))})});
       }},
      {"softsign", unary(Op::Softsign)},
      {"stop_gradient", unary(Op::StopGradient), false},
      {"dropout", unary(Op::Dropout, attrs({{"p", 0.3}, {"salt", std::int64_t{5}}}))},
      {"add (broadcast)", binary(Op::Add, {d(3), d(4)}, {d(4)})},
      {"sub (both broadcast)", binary(Op::Sub, {d(3), d(1)}, {d(1), d(4)})},
      {"mul (rank 3 by rank 2)", binary(Op::Mul, {d(2), d(3), d(4)}, {d(3), d(1)})},
      {"div", binary(Op::Div, {d(3), d(4)}, {d(4)}, true)},
      {"pow", binary(Op::Pow, {d(3), d(4)}, {d(4)})},
      {"maximum", binary(Op::Maximum, {d(3), d(4)}, {d(4)})},
      {"minimum", binary(Op::Minimum, {d(3), d(4)}, {d(3), d(4)})},
      {"greater_equal", binary(Op::GreaterEqual, {d(3), d(4)}, {d(4)})},
      // Comparisons, logic and selection: masks of 0 and 1 (the operands' dtype).
      {"less", binary(Op::Less, {d(3), d(4)}, {d(4)})},
      {"less_equal", binary(Op::LessEqual, {d(3), d(4)}, {d(3), d(1)})},
      {"greater", binary(Op::Greater, {d(3), d(4)}, {d(4)})},
      {"equal (of a value and itself)",
       [](Builder& b) {
         const ir::NodeId x = b.P("x", {d(3), d(4)});
         return b.op(Op::Equal, {x, b.op(Op::Relu, {x})});
       }},
      {"not_equal",
       [](Builder& b) {
         const ir::NodeId x = b.P("x", {d(3), d(4)});
         return b.op(Op::NotEqual, {x, b.op(Op::Relu, {x})});
       }},
      {"logical_and, logical_or and logical_not",
       [](Builder& b) {
         const ir::NodeId zero = b.g.addConstant(0, test::f32({}));
         const ir::NodeId pos = b.op(Op::Greater, {b.P("a", {d(3), d(4)}), zero});
         const ir::NodeId neg = b.op(Op::Less, {b.P("b", {d(4)}), zero});
         return b.op(Op::LogicalOr, {b.op(Op::LogicalAnd, {pos, neg}), b.op(Op::LogicalNot, {pos})});
       }},
      {"where (broadcast condition and branches)",
       [](Builder& b) {
         const ir::NodeId c = b.op(Op::Greater, {b.P("c", {d(3), d(1)}), b.g.addConstant(0, test::f32({}))});
         return b.op(Op::Where, {c, b.P("a", {d(3), d(4)}), b.P("b", {d(4)})});
       }},
      {"cast f32 to f64",
       [](Builder& b) {
         return b.typed(Op::Cast, {b.P("x", {d(3), d(4)})}, {ir::DType::F64, {d(3), d(4)}});
       }},
      {"cast to i32 (truncated) and back",
       [](Builder& b) {
         const ir::NodeId big = b.op(Op::Mul, {b.P("x", {d(3), d(4)}), b.g.addConstant(3, test::f32({}))});
         const ir::NodeId i = b.typed(Op::Cast, {big}, {ir::DType::I32, {d(3), d(4)}});
         return b.typed(Op::Cast, {i}, test::f32({d(3), d(4)}));
       }},
      {"argmax (as f32)",
       [](Builder& b) {
         const ir::NodeId i = b.op(Op::ArgMax, {b.P("x", {d(2), d(5), d(3)})}, attrs({{"axis", std::int64_t{1}}}));
         return b.typed(Op::Cast, {i}, test::f32({d(2), d(3)}));
       }},
      {"add with a symbolic batch",
       [](Builder& b) {
         return b.op(Op::Add,
                     {b.op(Op::Tanh, {b.g.addInput("in", test::f32({test::batch(), d(4)}))}), b.P("b", {d(4)})});
       }},
      {"reduce_sum", reduce(Op::ReduceSum, {1}, 0)},
      {"reduce_mean keepdims", reduce(Op::ReduceMean, {0, 2}, 1)},
      {"reduce_max", reduce(Op::ReduceMax, {1}, 0)},
      {"reduce_sum over everything", reduce(Op::ReduceSum, {0, 1, 2}, 0)},
      {"count",
       [](Builder& b) {
         return b.op(Op::Mul, {b.op(Op::Count, {b.P("x", {d(2), d(3)})}, attrs({{"axes", Ints{1}}})), b.P("s", {})});
       }},
      {"sum_to",
       [](Builder& b) {
         return b.typed(Op::SumTo, {b.P("x", {d(3), d(4)})}, test::f32({d(1), d(4)}));
       }},
      {"broadcast",
       [](Builder& b) {
         return b.typed(Op::Broadcast, {b.P("x", {d(4)})}, test::f32({d(3), d(4)}));
       }},
      {"softmax axis 1",
       [](Builder& b) {
         return b.op(Op::Softmax, {b.P("x", {d(2), d(5), d(3)})}, attrs({{"axis", std::int64_t{1}}}));
       }},
      {"log_softmax axis 2",
       [](Builder& b) {
         return b.op(Op::LogSoftmax, {b.P("x", {d(2), d(3), d(5)})}, attrs({{"axis", std::int64_t{2}}}));
       }},
      {"reshape",
       [](Builder& b) {
         return b.typed(Op::Reshape, {b.P("x", {d(2), d(3), d(4)})}, test::f32({d(6), d(4)}));
       }},
      {"transpose",
       [](Builder& b) {
         return b.op(Op::Transpose, {b.P("x", {d(2), d(3), d(4)})}, attrs({{"perm", Ints{2, 0, 1}}}));
       }},
      {"concat",
       [](Builder& b) {
         return b.op(Op::Concat, {b.P("a", {d(2), d(3)}), b.P("b", {d(2), d(5)}), b.P("c", {d(2), d(1)})},
                     attrs({{"axis", std::int64_t{1}}}));
       }},
      {"slice with step",
       [](Builder& b) {
         return b.op(Op::Slice, {b.P("x", {d(3), d(8)})},
                     attrs({{"axis", std::int64_t{1}},
                            {"start", std::int64_t{1}},
                            {"end", std::int64_t{7}},
                            {"step", std::int64_t{2}}}));
       }},
      {"slice with a negative step",
       [](Builder& b) {
         return b.op(Op::Slice, {b.P("x", {d(3), d(8)})},
                     attrs({{"axis", std::int64_t{1}},
                            {"start", std::int64_t{6}},
                            {"end", std::int64_t{-1}},
                            {"step", std::int64_t{-2}}}));
       }},
      {"one_hot (an index out of range gives zeros)",
       [](Builder& b) {
         return b.op(Op::OneHot, {b.I32("idx", {d(2), d(4)}, 6)}, attrs({{"classes", std::int64_t{5}}}));
       }},
      {"pad",
       [](Builder& b) {
         return b.op(Op::Pad, {b.P("x", {d(2), d(3), d(4)})},
                     attrs({{"before", Ints{0, 1, 2}}, {"after", Ints{1, 0, 3}}, {"value", 0.5}}));
       }},
      {"gather (embedding)",
       [](Builder& b) {
         return b.op(Op::Gather, {b.P("table", {d(5), d(3)}), b.I32("idx", {d(2), d(4)}, 5)});
       }},
      {"matmul", binary(Op::MatMul, {d(3), d(4)}, {d(4), d(5)})},
      {"matmul batched, broadcast b", binary(Op::MatMul, {d(2), d(3), d(4)}, {d(4), d(5)})},
      {"matmul batched", binary(Op::MatMul, {d(2), d(3), d(4)}, {d(2), d(4), d(5)})},
      {"matmul_tn", binary(Op::MatMulTN, {d(4), d(3)}, {d(4), d(5)})},
      {"matmul_nt", binary(Op::MatMulNT, {d(3), d(4)}, {d(5), d(4)})},
      {"conv2d stride, padding, dilation", conv},
      {"max_pool2d", pool(Op::MaxPool2D, {2, 2}, {2, 2}, {0, 1})},
      {"avg_pool2d", pool(Op::AvgPool2D, {3, 3}, {2, 2}, {1, 1})},
      // Windows that tile the 6 x 5 image exactly (the CNN's kind): the gather-form kernel without bounds tests.
      {"max_pool2d, tiling windows", pool(Op::MaxPool2D, {3, 5}, {3, 5}, {0, 0})},
      {"avg_pool2d, tiling windows", pool(Op::AvgPool2D, {2, 1}, {2, 1}, {0, 0})},
      // The backward ops with rules of their own (second order), as the subject of a graph.
      {"relu_grad", [](Builder& b) { return b.op(Op::ReluGrad, {b.P("g", {d(3), d(5)}), b.P("x", {d(3), d(5)})}); }},
      {"leaky_relu_grad",
       [](Builder& b) {
         return b.op(Op::LeakyReluGrad, {b.P("g", {d(3), d(5)}), b.P("x", {d(3), d(5)})}, attrs({{"alpha", 0.1}}));
       }},
      {"dropout_grad", unary(Op::DropoutGrad, attrs({{"p", 0.3}, {"salt", std::int64_t{5}}}))},
      {"slice_grad",
       [](Builder& b) {
         return b.typed(Op::SliceGrad, {b.P("x", {d(3), d(3)})}, test::f32({d(3), d(8)}),
                        attrs({{"axis", std::int64_t{1}}, {"start", std::int64_t{1}}, {"end", std::int64_t{7}},
                               {"step", std::int64_t{2}}}));
       }},
      {"gather_grad",
       [](Builder& b) {
         return b.typed(Op::GatherGrad, {b.P("dy", {d(2), d(4), d(3)}), b.I32("idx", {d(2), d(4)}, 5)},
                        test::f32({d(5), d(3)}));
       }},
      {"avg_pool2d_grad",
       [](Builder& b) {
         return b.typed(Op::AvgPool2DGrad, {b.P("dy", {d(2), d(2), d(3), d(3)})}, test::f32({d(2), d(2), d(6), d(5)}),
                        attrs({{"kernel", Ints{3, 3}}, {"stride", Ints{2, 2}}, {"padding", Ints{1, 1}}}));
       }},
      {"conv2d_grad_input",
       [](Builder& b) {
         return b.typed(Op::Conv2DGradInput, {b.P("dy", {d(2), d(4), d(4), d(4)}), b.P("w", {d(4), d(3), d(3), d(2)})},
                        test::f32({d(2), d(3), d(7), d(6)}),
                        attrs({{"stride", Ints{2, 1}}, {"padding", Ints{1, 0}}, {"dilation", Ints{1, 2}}}));
       }},
      {"conv2d_grad_weight",
       [](Builder& b) {
         return b.typed(Op::Conv2DGradWeight, {b.P("x", {d(2), d(3), d(7), d(6)}), b.P("dy", {d(2), d(4), d(4), d(4)})},
                        test::f32({d(4), d(3), d(3), d(2)}),
                        attrs({{"stride", Ints{2, 1}}, {"padding", Ints{1, 0}}, {"dilation", Ints{1, 2}}}));
       }},
      {"cross_entropy",
       [](Builder& b) {
         return b.op(Op::CrossEntropy, {b.P("logits", {d(4), d(5)}), b.I32("labels", {d(4)}, 5)});
       }},
      // The losses' targets are params here, so that their adjoints are checked too.
      {"soft_cross_entropy",
       [](Builder& b) {
         return b.op(Op::SoftCrossEntropy, {b.P("logits", {d(4), d(5)}), b.P("targets", {d(4), d(5)})});
       }},
      {"mse",
       [](Builder& b) {
         return b.op(Op::Mse, {b.P("pred", {d(3), d(5)}), b.P("target", {d(3), d(5)})});
       }},
      {"mse of scalars",
       [](Builder& b) {
         return b.op(Op::Mse, {b.P("pred", {}), b.P("target", {})});
       }},
      {"bce_with_logits",
       [](Builder& b) {
         return b.op(Op::BceWithLogits, {b.P("logits", {d(2), d(3), d(2)}), b.P("targets", {d(2), d(3), d(2)})});
       }},
      {"scan: an RNN cell over 4 steps, its stacked output", rnnScan(4, false, 1), true, false},
      {"scan: the last carry of a reverse loop", rnnScan(3, true, 0), true, false},
      {"mse with a symbolic batch",
       [](Builder& b) {
         return b.op(Op::Mse, {b.op(Op::Tanh, {b.g.addInput("in", test::f32({test::batch(), d(4)}))}),
                               b.op(Op::Add, {b.g.addInput("t", test::f32({test::batch(), d(4)})), b.P("b", {d(4)})})});
       }},
  };
}

// loss = Σ value * probe, with a random probe, so that every element of the op's value matters.
inline ir::Graph wrap(Builder& b, ir::NodeId value) {
  ir::Graph& g = b.g;
  g.name = "op";
  const ir::TensorType t = g.node(value).type;
  ir::NodeId probe = g.addInput("probe", t);
  ir::NodeId prod = g.addOp(Op::Mul, {value, probe});
  Ints all;
  for (std::size_t i = 0; i < t.shape.size(); ++i) all.push_back(static_cast<std::int64_t>(i));
  ir::NodeId loss = g.addOp(Op::ReduceSum, {prod}, attrs({{"axes", all}, {"keepdims", std::int64_t{0}}}));
  g.results = {{"value", value, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  return g;
}

inline std::map<std::string, ir::Tensor> argsFor(const Builder& b, std::uint64_t seed) {
  auto args = test::randomArgs(b.g, 3, seed);
  std::mt19937_64 rng(seed + 1);
  for (const auto& [name, range] : b.indexRanges) {
    ir::Tensor& t = args.at(name);
    std::uniform_int_distribution<std::int64_t> dist(0, range - 1);
    for (double& v : t.data) v = static_cast<double>(dist(rng));
  }
  return args;
}


}  // namespace sinter::test::ops
