// Graphs with a scan, built by hand: an Elman RNN cell run over a sequence, and a check of it by plain loops.
#pragma once

#include <cmath>
#include <memory>

#include "compiler/ir/scan.h"
#include "test_graphs.h"

namespace sinter::test {

// The cell h' = tanh(x wx + h wh + b): inputs h, x, wx, wh, b; results: h' as the carry and as the step's output.
inline std::shared_ptr<const ir::Graph> rnnCell(std::int64_t in, std::int64_t hidden) {
  auto body = std::make_shared<ir::Graph>();
  body->name = "cell";
  auto h = body->addInput("h", f32({batch(), d(hidden)}));
  auto x = body->addInput("x", f32({batch(), d(in)}));
  auto wx = body->addInput("wx", f32({d(in), d(hidden)}));
  auto wh = body->addInput("wh", f32({d(hidden), d(hidden)}));
  auto b = body->addInput("b", f32({d(hidden)}));
  auto pre = body->addOp(ir::Op::Add, {body->addOp(ir::Op::MatMul, {x, wx}), body->addOp(ir::Op::MatMul, {h, wh})});
  auto next = body->addOp(ir::Op::Tanh, {body->addOp(ir::Op::Add, {pre, b})});
  body->results = {{"h", next, ir::Result::Output}, {"y", next, ir::Result::Output}};
  return body;
}

// Result `result` of the loop over `operands` (carries, then sequences, then closures) with `body`.
inline ir::NodeId addScan(ir::Graph& g, std::shared_ptr<const ir::Graph> body, std::vector<ir::NodeId> operands,
                          ir::ScanShape s, std::int64_t result) {
  ir::Node n;
  n.op = ir::Op::Scan;
  n.operands = std::move(operands);
  n.attrs = s.attrsFor(result);
  n.body = std::move(body);
  return g.add(std::move(n));
}

// h0[batch,4] and xs[batch,steps,3] (steps fixed, or the symbol `seq`) through the cell with params wx, wh, b.
// Results: "ys" (every step's h, stacked along axis 1), "h" (the last h) and "loss" = mean(ys²) + mean(h).
inline ir::Graph rnnGraph(std::optional<std::int64_t> steps, bool reverse = false) {
  const std::int64_t in = 3, hidden = 4;
  ir::Graph g;
  g.name = "RNN";
  auto h0 = g.addInput("h0", f32({batch(), d(hidden)}));
  auto xs = g.addInput("xs", f32({batch(), steps ? d(*steps) : ir::Dim::sym("seq"), d(in)}));
  auto wx = g.addParam("wx", f32({d(in), d(hidden)}), {ir::Init::GlorotUniform});
  auto wh = g.addParam("wh", f32({d(hidden), d(hidden)}), {ir::Init::GlorotUniform});
  auto b = g.addParam("b", f32({d(hidden)}), {ir::Init::Zeros});
  const ir::ScanShape s{.axis = 1, .carries = 1, .seqs = 1, .result = 0, .reverse = reverse};
  auto body = rnnCell(in, hidden);
  auto ys = addScan(g, body, {h0, xs, wx, wh, b}, s, 1);
  auto h = addScan(g, body, {h0, xs, wx, wh, b}, s, 0);
  auto mean = [&](ir::NodeId v) {
    std::vector<std::int64_t> axes;
    for (std::size_t i = 0; i < g.node(v).type.shape.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    return g.addOp(ir::Op::ReduceMean, {v}, ir::Attrs::of({{"axes", axes}, {"keepdims", std::int64_t{0}}}));
  };
  auto loss = g.addOp(ir::Op::Add, {mean(g.addOp(ir::Op::Mul, {ys, ys})), mean(h)}, {}, "loss");
  g.results = {{"ys", ys, ir::Result::Output}, {"h", h, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  return g;
}

// The same RNN by plain loops: ys[batch,steps,hidden], the oracle for the scan's reference kernel.
inline ir::Tensor rnnByHand(const std::map<std::string, ir::Tensor>& a, bool reverse = false) {
  const ir::Tensor &xs = a.at("xs"), &wx = a.at("wx"), &wh = a.at("wh"), &b = a.at("b");
  const std::int64_t B = xs.shape[0], T = xs.shape[1], I = xs.shape[2], H = b.shape[0];
  std::vector<double> h = a.at("h0").data;
  ir::Tensor ys = ir::Tensor::zeros({B, T, H});
  for (std::int64_t k = 0; k < T; ++k) {
    const std::int64_t t = reverse ? T - 1 - k : k;
    std::vector<double> next(h.size());
    for (std::int64_t r = 0; r < B; ++r)
      for (std::int64_t j = 0; j < H; ++j) {
        double z = b.data[static_cast<std::size_t>(j)];
        for (std::int64_t i = 0; i < I; ++i)
          z += xs.data[static_cast<std::size_t>((r * T + t) * I + i)] * wx.data[static_cast<std::size_t>(i * H + j)];
        for (std::int64_t i = 0; i < H; ++i)
          z += h[static_cast<std::size_t>(r * H + i)] * wh.data[static_cast<std::size_t>(i * H + j)];
        next[static_cast<std::size_t>(r * H + j)] = std::tanh(z);
        ys.data[static_cast<std::size_t>((r * T + t) * H + j)] = std::tanh(z);
      }
    h = next;
  }
  return ys;
}

}  // namespace sinter::test
