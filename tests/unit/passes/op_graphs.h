// Hand-built graphs for the parser and pass tests: one that uses every op of ops.def, and small
// graphs with something for each pass to do.
#pragma once

#include "../compiler/test_graphs.h"
#include "compiler/ir/graph.h"

namespace sinter::test {

inline ir::Attrs attrs(std::initializer_list<std::pair<const char*, ir::AttrValue>> list) {
  ir::Attrs a;
  for (const auto& [k, v] : list) a.set(k, v);
  return a;
}
inline std::vector<std::int64_t> ints(std::initializer_list<std::int64_t> l) { return l; }

// Every op once at least, with attributes, carried types, names, locations and backward marks.
inline ir::Graph everyOpGraph() {
  using ir::Op;
  ir::Graph g;
  g.name = "EveryOp";
  const ir::SourceLoc at{"every \"op\".sn", 3, 7};
  auto x = g.addInput("x", f32({batch(), d(4)}), at);
  auto y = g.addInput("y", {ir::DType::I32, {batch()}});
  auto img = g.addInput("img", f32({batch(), d(2), d(5), d(5)}));
  auto idx = g.addInput("idx", {ir::DType::I32, {batch(), d(2)}});
  auto w = g.addParam("w", f32({d(4), d(3)}), {ir::Init::Normal, 0, 0.01});
  auto k = g.addParam("k", f32({d(3), d(2), d(3), d(3)}), {ir::Init::HeNormal});
  auto tab = g.addParam("tab", f32({d(7), d(3)}), {ir::Init::Uniform, -0.5, 0.25});
  auto cw = g.addParam("cw", f32({d(3)}), {ir::Init::Constant, 0.1});
  auto c = g.addConstant(0.5, f32({}));
  g.addConstant(-1e-8, f32({batch(), d(4)}));
  // Every elementwise op of one operand and no attributes, and every broadcasting one, from the table.
  for (const ir::OpDef& def : ir::allOps())
    if ((def.flags & ir::kElementwise) && def.arity == 1 && def.attrs.empty() && !def.carriesType)
      g.addOp(def.op, {x}, at, "u");
  g.addTyped(Op::Cast, {x}, {ir::DType::I32, {batch(), d(4)}});
  g.addOp(Op::Where, {g.addOp(Op::Less, {x, c}), x, c});
  g.addOp(Op::LeakyRelu, {x}, attrs({{"alpha", 0.01}}));
  auto drop = attrs({{"p", 0.25}, {"salt", std::int64_t{3}}});
  g.addOp(Op::DropoutGrad, {g.addOp(Op::Dropout, {x}, drop)}, drop);
  for (const ir::OpDef& def : ir::allOps())
    if ((def.flags & ir::kBroadcasting) && def.arity == 2) g.addOp(def.op, {x, c});
  g.addOp(Op::ReluGrad, {x, x});
  g.addOp(Op::LeakyReluGrad, {x, x}, attrs({{"alpha", 0.2}}));
  g.addOp(Op::GeluGrad, {x, x});
  g.addOp(Op::ReduceSum, {x}, attrs({{"axes", ints({0})}, {"keepdims", std::int64_t{0}}}));
  g.addOp(Op::ReduceMean, {x}, attrs({{"axes", ints({1})}, {"keepdims", std::int64_t{1}}}));
  g.addOp(Op::ReduceMax, {x}, attrs({{"axes", ints({0, 1})}, {"keepdims", std::int64_t{0}}}));
  g.addOp(Op::Count, {x}, attrs({{"axes", ints({0})}}));
  auto st = g.addTyped(Op::SumTo, {x}, f32({d(4)}));
  g.addTyped(Op::Broadcast, {st}, f32({batch(), d(4)}));
  auto sm = g.addOp(Op::Softmax, {x}, attrs({{"axis", std::int64_t{1}}}));
  g.addOp(Op::SoftmaxGrad, {x, sm}, attrs({{"axis", std::int64_t{1}}}));
  auto lsm = g.addOp(Op::LogSoftmax, {x}, attrs({{"axis", std::int64_t{1}}}));
  g.addOp(Op::LogSoftmaxGrad, {x, lsm}, attrs({{"axis", std::int64_t{1}}}));
  g.addTyped(Op::Reshape, {x}, f32({batch(), d(2), d(2)}));
  g.addOp(Op::Transpose, {x}, attrs({{"perm", ints({1, 0})}}));
  g.addOp(Op::Concat, {x, x, x}, attrs({{"axis", std::int64_t{1}}}));
  ir::Attrs sl = attrs(
      {{"axis", std::int64_t{1}}, {"start", std::int64_t{0}}, {"end", std::int64_t{4}}, {"step", std::int64_t{2}}});
  auto s = g.addOp(Op::Slice, {x}, sl);
  g.addTyped(Op::SliceGrad, {s}, f32({batch(), d(4)}), sl);
  g.addOp(Op::Slice, {x},
          attrs({{"axis", std::int64_t{1}},
                 {"start", std::int64_t{3}},
                 {"end", std::int64_t{-1}},
                 {"step", std::int64_t{-1}}}));
  g.addOp(Op::ArgMax, {x}, attrs({{"axis", std::int64_t{1}}}));
  g.addOp(Op::OneHot, {idx}, attrs({{"classes", std::int64_t{5}}}));
  g.addOp(Op::Pad, {x}, attrs({{"before", ints({0, 1})}, {"after", ints({0, 2})}, {"value", -1.5}}));
  auto ga = g.addOp(Op::Gather, {tab, idx});
  g.addTyped(Op::GatherGrad, {ga, idx}, f32({d(7), d(3)}));
  auto mm = g.addOp(Op::MatMul, {x, w}, at, "logits");
  auto tn = g.addOp(Op::MatMulTN, {x, x});
  g.node(tn).gradOf = mm;
  g.node(tn).gradOperand = 1;
  g.addOp(Op::MatMulNT, {x, x});
  ir::Attrs conv = attrs({{"stride", ints({1, 1})}, {"padding", ints({1, 1})}, {"dilation", ints({1, 1})}});
  auto cv = g.addOp(Op::Conv2D, {img, k}, conv);
  g.addTyped(Op::Conv2DGradInput, {cv, k}, g.node(img).type, conv);
  g.addTyped(Op::Conv2DGradWeight, {img, cv}, g.node(k).type, conv);
  ir::Attrs pool = attrs({{"kernel", ints({2, 2})}, {"stride", ints({2, 2})}, {"padding", ints({0, 0})}});
  auto mp = g.addOp(Op::MaxPool2D, {img}, pool);
  g.addOp(Op::MaxPool2DGrad, {mp, img}, pool);
  auto ap = g.addOp(Op::AvgPool2D, {img}, pool);
  g.addTyped(Op::AvgPool2DGrad, {ap}, g.node(img).type, pool);
  auto logits = g.addOp(Op::Add, {mm, cw});
  auto loss = g.addOp(Op::CrossEntropy, {logits, y}, at, "loss");
  auto seed = g.addConstant(1, f32({}));
  g.node(seed).gradOf = loss;
  auto dl = g.addOp(Op::CrossEntropyGrad, {seed, logits, y});
  g.node(dl).gradOf = loss;
  g.node(dl).gradOperand = 0;
  g.addOp(Op::SoftCrossEntropy, {logits, g.addOp(Op::Softmax, {logits}, attrs({{"axis", std::int64_t{1}}}))});
  g.addOp(Op::Mse, {x, x});
  g.addOp(Op::BceWithLogits, {x, g.addOp(Op::Sigmoid, {x})});
  // A loop: the running sum of x's columns (body: h' = h + x_t, stacked), and its last carry.
  auto body = std::make_shared<ir::Graph>();
  body->name = "running_sum";
  auto next = body->addOp(Op::Add, {body->addInput("h", f32({batch()})), body->addInput("xt", f32({batch()}))});
  body->results = {{"h", next, ir::Result::Output}, {"y", next, ir::Result::Output}};
  ir::Node scan;
  scan.op = Op::Scan;
  scan.operands = {g.addOp(Op::ReduceMax, {x}, attrs({{"axes", ints({1})}, {"keepdims", std::int64_t{0}}})), x};
  scan.body = body;
  for (std::int64_t r : {1, 0}) {
    scan.attrs = attrs({{"axis", std::int64_t{1}}, {"carries", std::int64_t{1}}, {"seqs", std::int64_t{1}},
                        {"result", r}, {"reverse", r}});
    g.add(scan);
  }
  g.results = {
      {"loss", loss, ir::Result::Loss}, {"grad.logits", dl, ir::Result::Grad}, {"out \"x\"", x, ir::Result::Output}};
  return g;
}

// x[batch,6] -> relu(x w1 + b1) w2 + b2 -> logits; results: probs = softmax(logits), loss.
inline ir::Graph mlp() {
  using ir::Op;
  ir::Graph g;
  g.name = "MLP";
  auto x = g.addInput("x", f32({batch(), d(6)}));
  auto y = g.addInput("y", {ir::DType::I32, {batch()}});
  auto w1 = g.addParam("w1", f32({d(6), d(5)}), {ir::Init::GlorotUniform});
  auto b1 = g.addParam("b1", f32({d(5)}), {ir::Init::Zeros});
  auto w2 = g.addParam("w2", f32({d(5), d(3)}), {ir::Init::Normal, 0, 0.1});
  auto b2 = g.addParam("b2", f32({d(3)}), {ir::Init::Zeros});
  auto h = g.addOp(Op::Relu, {g.addOp(Op::Add, {g.addOp(Op::MatMul, {x, w1}), b1})}, {}, "h");
  auto logits = g.addOp(Op::Add, {g.addOp(Op::MatMul, {h, w2}), b2}, {}, "logits");
  auto probs = g.addOp(Op::Softmax, {logits}, attrs({{"axis", std::int64_t{1}}}), {}, "probs");
  auto loss = g.addOp(Op::CrossEntropy, {logits, y}, {}, "loss");
  g.results = {{"probs", probs, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  return g;
}

// Random values for every input and param: floats ~ N(0, 0.7), integers (labels, indices) in 0..2.
inline std::map<std::string, ir::Tensor> randomInputs(const ir::Graph& g, std::int64_t batchSize, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<std::string, ir::Tensor> args;
  for (const auto* list : {&g.inputs, &g.params})
    for (ir::NodeId id : *list) {
      const ir::Node& node = g.node(id);
      std::vector<std::int64_t> shape;
      for (const ir::Dim& dim : node.type.shape) shape.push_back(dim.isSymbolic() ? batchSize : dim.size);
      ir::Tensor t = randomTensor(shape, rng, 0.7);
      if (node.type.dtype == ir::DType::I32)
        for (double& v : t.data) v = static_cast<double>(rng() % 3);
      args[node.name] = std::move(t);
    }
  return args;
}

}  // namespace sinter::test
