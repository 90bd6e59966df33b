// Small graphs built by hand (no frontend), and random arguments for them.
#pragma once

#include <random>

#include "compiler/ir/interpreter.h"
#include "compiler/ir/module.h"

namespace sinter::test {

inline ir::TensorType f32(ir::Shape s) { return {ir::DType::F32, std::move(s)}; }
inline ir::Dim d(std::int64_t n) { return ir::Dim::fixed(n); }
inline ir::Dim batch() { return ir::Dim::sym("batch"); }

inline ir::Attrs lastAxis() {
  ir::Attrs a;
  a.set("axis", std::int64_t{1});
  return a;
}

// x[batch,in] -> relu(x w1 + b1) w2 + b2 -> logits[batch,classes]; results: probs = softmax(logits), loss.
inline ir::Graph mlpGraph(std::int64_t in = 6, std::int64_t hidden = 5, std::int64_t classes = 3) {
  ir::Graph g;
  g.name = "MLP";
  auto x = g.addInput("x", f32({batch(), d(in)}));
  auto y = g.addInput("y", {ir::DType::I32, {batch()}});
  auto w1 = g.addParam("w1", f32({d(in), d(hidden)}), {ir::Init::GlorotUniform});
  auto b1 = g.addParam("b1", f32({d(hidden)}), {ir::Init::Zeros});
  auto w2 = g.addParam("w2", f32({d(hidden), d(classes)}), {ir::Init::Normal, 0, 0.1});
  auto b2 = g.addParam("b2", f32({d(classes)}), {ir::Init::Zeros});
  auto h = g.addOp(ir::Op::Relu, {g.addOp(ir::Op::Add, {g.addOp(ir::Op::MatMul, {x, w1}), b1})}, {}, "h");
  auto logits = g.addOp(ir::Op::Add, {g.addOp(ir::Op::MatMul, {h, w2}), b2}, {}, "logits");
  auto probs = g.addOp(ir::Op::Softmax, {logits}, lastAxis(), {}, "probs");
  auto loss = g.addOp(ir::Op::CrossEntropy, {logits, y}, {}, "loss");
  g.results = {{"probs", probs, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  return g;
}

// Exercises the ops the MLP does not: mul with a broadcast scalar param, an explicit broadcast,
// softmax inside the loss path (softmax_grad) and a sum_to in the forward graph.
inline ir::Graph mixedGraph() {
  ir::Graph g;
  g.name = "Mixed";
  auto x = g.addInput("x", f32({batch(), d(4)}));
  auto y = g.addInput("y", {ir::DType::I32, {batch()}});
  auto w = g.addParam("w", f32({d(4), d(3)}), {ir::Init::GlorotUniform});
  auto s = g.addParam("s", f32({}), {ir::Init::Ones});
  auto c = g.addParam("c", f32({d(1), d(3)}), {ir::Init::Zeros});
  ir::Node bc;
  bc.op = ir::Op::Broadcast;
  bc.operands = {c};
  bc.type = f32({batch(), d(3)});
  auto cb = g.add(bc);
  auto z = g.addOp(ir::Op::Mul, {g.addOp(ir::Op::MatMul, {x, w}), s});
  auto p = g.addOp(ir::Op::Softmax, {g.addOp(ir::Op::Add, {z, cb})}, lastAxis());
  ir::Node st;
  st.op = ir::Op::SumTo;
  st.operands = {p};
  st.type = f32({d(1), d(3)});
  auto colsum = g.add(st);
  auto logits = g.addOp(ir::Op::Mul, {p, g.addOp(ir::Op::Add, {colsum, c})});
  auto loss = g.addOp(ir::Op::CrossEntropy, {logits, y});
  g.results = {{"loss", loss, ir::Result::Loss}};
  return g;
}

inline ir::Tensor randomTensor(std::vector<std::int64_t> shape, std::mt19937_64& rng, double scale = 1.0) {
  ir::Tensor t = ir::Tensor::zeros(std::move(shape));
  std::normal_distribution<double> dist(0.0, scale);
  for (double& v : t.data) v = dist(rng);
  return t;
}

// Random values for every input and param of g, with `batch` bound to n.
inline std::map<std::string, ir::Tensor> randomArgs(const ir::Graph& g, std::int64_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<std::string, ir::Tensor> args;
  std::int64_t classes = 0;
  for (const ir::Node& node : g.nodes)
    if (node.op == ir::Op::CrossEntropy) classes = g.node(node.operands[0]).type.shape[1].size;
  for (const auto* list : {&g.inputs, &g.params})
    for (ir::NodeId id : *list) {
      const ir::Node& node = g.node(id);
      std::vector<std::int64_t> shape;
      for (const ir::Dim& dim : node.type.shape) shape.push_back(dim.isSymbolic() ? n : dim.size);
      if (node.type.dtype != ir::DType::I32) {
        args[node.name] = randomTensor(shape, rng, 0.7);
        continue;
      }
      ir::Tensor labels = ir::Tensor::zeros(shape);
      std::uniform_int_distribution<std::int64_t> dist(0, std::max<std::int64_t>(classes, 1) - 1);
      for (double& v : labels.data) v = static_cast<double>(dist(rng));
      args[node.name] = labels;
    }
  return args;
}

}  // namespace sinter::test
