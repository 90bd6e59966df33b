// ONNX's recurrent ops as torch.onnx.export writes them for nn.LSTM, nn.GRU and nn.RNN (layout 0: X is
// [seq, batch, input]; one node per layer): unrolled over the sequence, whose length is a fixed dim of X.
// Unrolling, not the IR's scan: the importer builds one flat graph and these sequences are short (28 rows
// of a Fashion-MNIST image); the steps are the cells of lib/nn.sn's LSTM, GRU and RNN layers, which unroll
// the same way. Forward, reverse and bidirectional; every other attribute value (peepholes, clip,
// input_forget, sequence_lens, layout 1, other activations) is an Unsupported error.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <tuple>

#include "frontend/onnx/importer.h"

namespace sinter::onnxio {
namespace {

using ir::Op;

enum class Cell { Lstm, Gru, Rnn };

struct Spec {
  Cell cell;
  std::int64_t gates;                      // blocks of hidden_size rows in W and R
  std::vector<std::string> activations;    // the defaults, one direction's
  std::vector<std::string> alsoSupported;  // another accepted list (RNN's Relu)
};

Spec specOf(Cell c) {
  switch (c) {
    case Cell::Lstm: return {c, 4, {"Sigmoid", "Tanh", "Tanh"}, {}};
    case Cell::Gru: return {c, 3, {"Sigmoid", "Tanh"}, {}};
    case Cell::Rnn: return {c, 1, {"Tanh"}, {"Relu"}};
  }
  return {c, 1, {}, {}};
}

// One direction's params: x @ wx + bx gives every gate's input part for all steps at once, h @ wh the
// recurrent part; a GRU with linear_before_reset keeps its recurrent candidate bias apart (bh).
struct DirWeights {
  ir::NodeId wx = -1, wh = -1, bx = -1, bh = -1;
};

// Rows [dir] of a constant [dirs, rows, cols], transposed to [cols, rows].
Weight transposedSlice(const Constant& c, std::int64_t dir) {
  const std::int64_t rows = c.dims[1], cols = c.dims[2];
  Weight w{{cols, rows}, std::vector<float>(static_cast<std::size_t>(rows * cols))};
  const double* base = c.values.data() + dir * rows * cols;
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t k = 0; k < cols; ++k) w.data[k * rows + r] = static_cast<float>(base[r * cols + k]);
  return w;
}

const Constant& weightInput(Importer& im, const onnx::NodeProto& n, int i, std::string_view what,
                            std::vector<std::int64_t> dims) {
  const Constant& c = im.requireConstant(input(n, i), what);
  if (!c.isFloat || c.dims != dims)
    throw Unsupported(fmt::format("its {} '{}' must be a float tensor [{}]", what, c.name, fmt::join(dims, ", ")));
  return c;
}

DirWeights dirWeights(Importer& im, const onnx::NodeProto& n, const Spec& s, std::int64_t dir, std::int64_t dirs,
                      std::int64_t in, std::int64_t hidden, bool linearBeforeReset) {
  const std::int64_t gh = s.gates * hidden;
  const Constant& w = weightInput(im, n, 1, "W", {dirs, gh, in});
  const Constant& r = weightInput(im, n, 2, "R", {dirs, gh, hidden});
  const std::string prefix = n.name().empty() ? n.output(0) : n.name();
  const std::string suffix = dirs == 1 ? "" : (dir == 0 ? ".forward" : ".reverse");
  DirWeights d;
  d.wx = im.param(prefix + ".wx" + suffix, transposedSlice(w, dir));
  d.wh = im.param(prefix + ".wh" + suffix, transposedSlice(r, dir));
  Weight bx{{gh}, std::vector<float>(static_cast<std::size_t>(gh), 0.0f)}, bh{{hidden}, {}};
  if (const std::string b = input(n, 3); !b.empty()) {
    const Constant& c = weightInput(im, n, 3, "B", {dirs, 2 * gh});
    const double* wb = c.values.data() + dir * 2 * gh;
    const double* rb = wb + gh;
    for (std::int64_t k = 0; k < gh; ++k) {
      const bool apart = linearBeforeReset && k >= 2 * hidden;  // the GRU candidate's recurrent bias
      bx.data[k] = static_cast<float>(wb[k] + (apart ? 0.0 : rb[k]));
      if (apart) bh.data.push_back(static_cast<float>(rb[k]));
    }
  }
  d.bx = im.param(prefix + ".bx" + suffix, std::move(bx));
  if (linearBeforeReset) {
    if (bh.data.empty()) bh.data.assign(static_cast<std::size_t>(hidden), 0.0f);
    d.bh = im.param(prefix + ".bh" + suffix, std::move(bh));
  }
  return d;
}

// What every step of the unrolled loop needs.
struct Unroll {
  Importer& im;
  const Spec& spec;
  std::int64_t hidden;
  ir::Dim batch;
  bool reluRnn = false;
  bool linearBeforeReset = false;

  ir::NodeId gate(ir::NodeId g, std::int64_t k) const {
    return im.op(
        Op::Slice, {g},
        ir::Attrs::of(
            {{"axis", std::int64_t{1}}, {"start", k * hidden}, {"end", (k + 1) * hidden}, {"step", std::int64_t{1}}}));
  }
  ir::NodeId sigmoid(ir::NodeId x) const { return im.op(Op::Sigmoid, {x}); }
  ir::NodeId tanh(ir::NodeId x) const { return im.op(Op::Tanh, {x}); }

  // One step: gx the step's input part [batch, gates * hidden]; h and c updated.
  void step(const DirWeights& w, ir::NodeId gx, ir::NodeId& h, ir::NodeId& c) const {
    const ir::NodeId gh = im.op(Op::MatMul, {h, w.wh});
    switch (spec.cell) {
      case Cell::Lstm: {  // gates i, o, f, c
        const ir::NodeId g = im.op(Op::Add, {gx, gh});
        const ir::NodeId i = sigmoid(gate(g, 0)), o = sigmoid(gate(g, 1)), f = sigmoid(gate(g, 2));
        c = im.op(Op::Add, {im.op(Op::Mul, {f, c}), im.op(Op::Mul, {i, tanh(gate(g, 3))})});
        h = im.op(Op::Mul, {o, tanh(c)});
        return;
      }
      case Cell::Gru: {  // gates z, r, h
        const ir::NodeId z = sigmoid(im.op(Op::Add, {gate(gx, 0), gate(gh, 0)}));
        const ir::NodeId r = sigmoid(im.op(Op::Add, {gate(gx, 1), gate(gh, 1)}));
        ir::NodeId recurrent;
        if (linearBeforeReset) recurrent = im.op(Op::Mul, {r, im.op(Op::Add, {gate(gh, 2), w.bh})});
        else recurrent = gate(im.op(Op::MatMul, {im.op(Op::Mul, {r, h}), w.wh}), 2);
        const ir::NodeId cand = tanh(im.op(Op::Add, {gate(gx, 2), recurrent}));
        h = im.op(Op::Add, {cand, im.op(Op::Mul, {z, im.op(Op::Sub, {h, cand})})});  // (1 - z) cand + z h
        return;
      }
      case Cell::Rnn: {
        const ir::NodeId g = im.op(Op::Add, {gx, gh});
        h = reluRnn ? im.op(Op::Relu, {g}) : tanh(g);
        return;
      }
    }
  }

  // A state's initial value for direction `dir`: the input [dirs, batch, hidden]'s slice, or zeros.
  ir::NodeId initial(const std::string& name, std::int64_t dir) const {
    const ir::TensorType t{ir::DType::F32, {batch, ir::Dim::fixed(hidden)}};
    if (name.empty()) return im.graph.addConstant(0, t, {});
    const ir::NodeId all = im.value(name);
    const ir::NodeId one =
        im.op(Op::Slice, {all},
              ir::Attrs::of({{"axis", std::int64_t{0}}, {"start", dir}, {"end", dir + 1}, {"step", std::int64_t{1}}}));
    return im.typed(Op::Reshape, {one}, t);
  }

  ir::NodeId asBlock(ir::NodeId x, std::int64_t lead) const {  // [batch, hidden] as [1, (1,) batch, hidden]
    ir::Shape s(static_cast<std::size_t>(lead), ir::Dim::fixed(1));
    s.push_back(batch);
    s.push_back(ir::Dim::fixed(hidden));
    return im.typed(Op::Reshape, {x}, {ir::DType::F32, s});
  }
};

// An initial state that is absent or a zero constant (torch's ConstantOfShape).
bool isZero(Importer& im, const std::string& name) {
  if (name.empty()) return true;
  const ir::Node& v = im.graph.node(im.value(name));
  return v.op == Op::Constant && v.scalar == 0;
}

void checkAttrs(const onnx::NodeProto& n, const NodeAttrs& a, const Spec& s, std::int64_t dirs, bool& relu) {
  if (a.i("layout", 0) != 0) throw Unsupported("layout = 1 is not supported; supported: 0 (X is [seq, batch, input])");
  if (a.has("clip")) throw Unsupported("clip is not supported");
  if (a.i("input_forget", 0) != 0) throw Unsupported("input_forget = 1 is not supported; supported: 0");
  if (a.has("activation_alpha") || a.has("activation_beta"))
    throw Unsupported("activation_alpha and activation_beta are not supported");
  if (!input(n, 4).empty()) throw Unsupported("sequence_lens is not supported: every sequence has X's length");
  if (s.cell == Cell::Lstm && !input(n, 7).empty()) throw Unsupported("peepholes (input P) are not supported");
  std::vector<std::string> acts;
  for (const onnx::AttributeProto& attr : n.attribute())
    if (attr.name() == "activations") acts.assign(attr.strings().begin(), attr.strings().end());
  auto repeated = [dirs](const std::vector<std::string>& one) {
    std::vector<std::string> all;
    for (std::int64_t d = 0; d < dirs; ++d) all.insert(all.end(), one.begin(), one.end());
    return all;
  };
  relu = !s.alsoSupported.empty() && acts == repeated(s.alsoSupported);
  if (!acts.empty() && acts != repeated(s.activations) && !relu)
    throw Unsupported(fmt::format(
        "activations [{}] are not supported; supported: [{}]{}", fmt::join(acts, ", "), fmt::join(s.activations, ", "),
        s.alsoSupported.empty() ? "" : fmt::format(", [{}]", fmt::join(s.alsoSupported, ", "))));
}

void recurrent(Importer& im, const onnx::NodeProto& n, const NodeAttrs& a, Cell cell) {
  const Spec s = specOf(cell);
  const std::string direction = a.s("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    throw Unsupported(fmt::format("direction '{}' is not supported", direction));
  const std::int64_t dirs = direction == "bidirectional" ? 2 : 1;
  Unroll u{im, s, a.i("hidden_size", 0), {}};
  if (u.hidden <= 0) throw Unsupported("hidden_size must be given and positive");
  checkAttrs(n, a, s, dirs, u.reluRnn);
  u.linearBeforeReset = cell == Cell::Gru && a.i("linear_before_reset", 0) != 0;

  const ir::NodeId x = im.value(n.input(0));
  const ir::Shape xs = im.type(x).shape;
  if (xs.size() != 3 || xs[0].isSymbolic() || xs[2].isSymbolic())
    throw Unsupported(
        fmt::format("its input X is {}: [seq, batch, input] with a fixed sequence length and input "
                    "size is supported",
                    im.type(x).str()));
  const std::int64_t steps = xs[0].size;
  u.batch = xs[1];
  const auto first = static_cast<ir::NodeId>(im.graph.nodes.size());
  std::vector<std::vector<ir::NodeId>> ys(static_cast<std::size_t>(dirs));
  std::vector<ir::NodeId> lastH, lastC;
  std::vector<DirWeights> weights;
  std::vector<std::pair<ir::NodeId, ir::NodeId>> ranges;  // per direction, the nodes its steps added
  for (std::int64_t d = 0; d < dirs; ++d) {
    const auto dirFirst = static_cast<ir::NodeId>(im.graph.nodes.size());
    const DirWeights w = dirWeights(im, n, s, d, dirs, xs[2].size, u.hidden, u.linearBeforeReset);
    weights.push_back(w);
    const ir::NodeId gx = im.op(Op::Add, {im.op(Op::MatMul, {x, w.wx}), w.bx});  // [seq, batch, gates * hidden]
    ir::NodeId h = u.initial(input(n, 5), d);
    ir::NodeId c = cell == Cell::Lstm ? u.initial(input(n, 6), d) : -1;
    const bool backward = direction == "reverse" || d == 1;
    ys[d].resize(static_cast<std::size_t>(steps));
    for (std::int64_t k = 0; k < steps; ++k) {
      const std::int64_t t = backward ? steps - 1 - k : k;
      const ir::NodeId slice =
          im.op(Op::Slice, {gx},
                ir::Attrs::of({{"axis", std::int64_t{0}}, {"start", t}, {"end", t + 1}, {"step", std::int64_t{1}}}));
      const ir::NodeId g =
          im.typed(Op::Reshape, {slice}, {ir::DType::F32, {u.batch, ir::Dim::fixed(s.gates * u.hidden)}});
      u.step(w, g, h, c);
      ys[d][t] = h;
    }
    lastH.push_back(u.asBlock(h, 1));
    if (cell == Cell::Lstm) lastC.push_back(u.asBlock(c, 1));
    ranges.emplace_back(dirFirst, static_cast<ir::NodeId>(im.graph.nodes.size()) - 1);
  }
  auto concat = [&im](const std::vector<ir::NodeId>& parts, std::int64_t axis) {
    return parts.size() == 1 ? parts[0] : im.op(Op::Concat, parts, ir::Attrs::of({{"axis", axis}}));
  };
  ir::NodeId sequence = -1;
  if (!n.output(0).empty()) {  // Y: [seq, dirs, batch, hidden]
    std::vector<ir::NodeId> perDir;
    for (const std::vector<ir::NodeId>& hs : ys) {
      std::vector<ir::NodeId> blocks;
      for (ir::NodeId h : hs) blocks.push_back(u.asBlock(h, 2));
      perDir.push_back(concat(blocks, 0));
    }
    sequence = concat(perDir, 1);
    im.define(n.output(0), sequence);
  }
  if (n.output_size() > 1 && !n.output(1).empty()) im.define(n.output(1), concat(lastH, 0));
  if (n.output_size() > 2 && !n.output(2).empty()) im.define(n.output(2), concat(lastC, 0));
  // lib/nn.sn's layer of the kind computes each direction: from a zero state, with its activations; a GRU's
  // candidate adds its recurrent bias before the reset gate's product. Forward is its forward (Y_h) or its
  // sequence (Y), reverse its `reversed` (Y_h). (Which values are read is the writer's to see.)
  const bool layerForm = !u.reluRnn && (cell != Cell::Gru || u.linearBeforeReset) && isZero(im, input(n, 5)) &&
                         (cell != Cell::Lstm || isZero(im, input(n, 6)));
  const auto last = static_cast<ir::NodeId>(im.graph.nodes.size()) - 1;
  for (std::int64_t d = 0; layerForm && d < dirs; ++d) {
    const char* layer = cell == Cell::Lstm ? "LSTM" : cell == Cell::Gru ? "GRU" : "SimpleRNN";
    const DirWeights& w = weights[static_cast<std::size_t>(d)];
    const bool reversed = direction == "reverse" || d == 1;
    RecurrentSite site{layer,
                       xs[2].size,
                       u.hidden,
                       x,
                       first,
                       last,
                       first,
                       last,
                       reversed,
                       lastH[d],
                       reversed || dirs > 1 ? -1 : sequence,
                       w.wx,
                       w.wh,
                       w.bx,
                       w.bh};
    if (dirs > 1) std::tie(site.first, site.last) = ranges[static_cast<std::size_t>(d)];
    im.recurrent.push_back(site);
  }
}

}  // namespace

void addRnnConverters(std::vector<OpConverter>& t) {
  const std::vector<std::string_view> common = {"activation_alpha", "activation_beta", "activations", "clip",
                                                "direction",        "hidden_size",     "layout"};
  auto with = [&common](std::vector<std::string_view> extra) {
    extra.insert(extra.end(), common.begin(), common.end());
    return extra;
  };
  t.push_back({"LSTM", with({"input_forget"}),
               [](Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) { recurrent(im, n, a, Cell::Lstm); }});
  t.push_back({"GRU", with({"linear_before_reset"}),
               [](Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) { recurrent(im, n, a, Cell::Gru); }});
  t.push_back({"RNN", with({}),
               [](Importer& im, const onnx::NodeProto& n, const NodeAttrs& a) { recurrent(im, n, a, Cell::Rnn); }});
}

}  // namespace sinter::onnxio
