// Graphs with a scan, built by hand: an Elman RNN cell run over a sequence, and a check of it by plain loops.
#pragma once

#include <cmath>
#include <memory>
#include <random>

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

// A loop with two carries (h, c), two sequences (xs, and a gate ms) sliced along `axis` (0: time-major) over
// `seq` steps, and two stacked results, one of them a body input (the carry c entering each step, as a saving
// loop stores it). The body: z = tanh(x w + h u), c' = c * sigmoid(h u) + z * m, h' = tanh(c').
// Results: "h", "c" (after the last step), "ys" (every h'), "cs" (every c entering a step) and a loss over all.
inline ir::Graph gatedGraph(std::int64_t axis, bool reverse = false) {
  auto seqOf = [&](std::int64_t features) {
    return axis == 0 ? f32({ir::Dim::sym("seq"), batch(), d(features)})
                     : f32({batch(), ir::Dim::sym("seq"), d(features)});
  };
  auto body = std::make_shared<ir::Graph>();
  body->name = "gated";
  auto h = body->addInput("h", f32({batch(), d(4)}));
  auto c = body->addInput("c", f32({batch(), d(4)}));
  auto x = body->addInput("x", f32({batch(), d(3)}));
  auto m = body->addInput("m", f32({batch(), d(4)}));
  auto w = body->addInput("w", f32({d(3), d(4)}));
  auto u = body->addInput("u", f32({d(4), d(4)}));
  auto hu = body->addOp(ir::Op::MatMul, {h, u});
  auto z = body->addOp(ir::Op::Tanh, {body->addOp(ir::Op::Add, {body->addOp(ir::Op::MatMul, {x, w}), hu})});
  auto c2 = body->addOp(ir::Op::Add, {body->addOp(ir::Op::Mul, {c, body->addOp(ir::Op::Sigmoid, {hu})}),
                                      body->addOp(ir::Op::Mul, {z, m})});
  auto h2 = body->addOp(ir::Op::Tanh, {c2});
  body->results = {{"h", h2, ir::Result::Output},
                   {"c", c2, ir::Result::Output},
                   {"y", h2, ir::Result::Output},
                   {"c.in", c, ir::Result::Output}};

  ir::Graph g;
  g.name = "Gated";
  auto h0 = g.addInput("h0", f32({batch(), d(4)}));
  auto c0 = g.addInput("c0", f32({batch(), d(4)}));
  auto xs = g.addInput("xs", seqOf(3));
  auto ms = g.addInput("ms", seqOf(4));
  auto wp = g.addParam("w", f32({d(3), d(4)}), {ir::Init::GlorotUniform});
  auto up = g.addParam("u", f32({d(4), d(4)}), {ir::Init::GlorotUniform});
  const ir::ScanShape s{.axis = axis, .carries = 2, .seqs = 2, .result = 0, .reverse = reverse};
  const std::vector<ir::NodeId> operands = {h0, c0, xs, ms, wp, up};
  auto hN = addScan(g, body, operands, s, 0);
  auto cN = addScan(g, body, operands, s, 1);
  auto ys = addScan(g, body, operands, s, 2);
  auto cs = addScan(g, body, operands, s, 3);
  auto mean = [&](ir::NodeId v) {
    std::vector<std::int64_t> axes;
    for (std::size_t i = 0; i < g.node(v).type.shape.size(); ++i) axes.push_back(static_cast<std::int64_t>(i));
    return g.addOp(ir::Op::ReduceMean, {v}, ir::Attrs::of({{"axes", axes}, {"keepdims", std::int64_t{0}}}));
  };
  auto loss = g.addOp(ir::Op::Add,
                      {g.addOp(ir::Op::Add, {mean(g.addOp(ir::Op::Mul, {ys, ys})), mean(cs)}),
                       g.addOp(ir::Op::Add, {mean(hN), mean(g.addOp(ir::Op::Mul, {cN, cN}))})},
                      {}, "loss");
  g.results = {{"h", hN, ir::Result::Output},
               {"c", cN, ir::Result::Output},
               {"ys", ys, ir::Result::Output},
               {"cs", cs, ir::Result::Output},
               {"loss", loss, ir::Result::Loss}};
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

// Arguments with `batch` rows and `steps` steps: every symbolic dimension bound by its name.
inline std::map<std::string, ir::Tensor> argsAt(const ir::Graph& g, std::int64_t batch, std::int64_t steps,
                                         std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<std::string, ir::Tensor> args;
  for (const auto* list : {&g.inputs, &g.params})
    for (ir::NodeId id : *list) {
      std::vector<std::int64_t> shape;
      for (const ir::Dim& dim : g.node(id).type.shape)
        shape.push_back(!dim.isSymbolic() ? dim.size : dim.symbol == "seq" ? steps : batch);
      args[g.node(id).name] = test::randomTensor(shape, rng, 0.7);
    }
  return args;
}

}  // namespace sinter::test
