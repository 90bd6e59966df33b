// An imported graph written as a model file: layers recognised, then one statement per ONNX node's value
// (single-use arithmetic inlined into its user), then the outputs.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <set>
#include <stdexcept>

#include "compiler/ir/op_table.h"
#include "compiler/ir/scan.h"
#include "frontend/onnx/onnx_source.h"
#include "frontend/onnx/source_names.h"

namespace sinter::onnxio {

namespace {

using ir::NodeId;
using ir::Op;
using Ints = std::vector<std::int64_t>;

// How tightly an expression binds, for the parentheses its users need.
enum Level { kAdd = 1, kMul = 2, kMatMul = 3, kNeg = 4, kPow = 5, kAtom = 6 };

struct Expr {
  std::string text;
  int level = kAtom;
};

// A recognised lib/nn.sn layer: the instance the model makes, and the call that replaces a node.
struct Layer {
  std::string instance;                                // "fc1"
  std::string make;                                    // "Dense(784, 128)"
  NodeId input = -1;                                   // the call's argument
  std::vector<std::pair<std::string, NodeId>> params;  // ("w", the weight's param node), ...
  // A recurrent layer's: its params' values in its layout (one per param, else the params' own), its input
  // made batch-first, and its result made the node's shape.
  std::vector<Weight> converted{};
  bool transposeInput = false;
  std::string method{};          // the layer's method called ("sequence"), else its forward
  bool transposeResult = false;  // the call's [batch, T, ...] made time-major
  std::string resultShape{};
};

// Blocks of `width` columns of the rows of w (the last axis) in another order: block k of the result is
// block order[k] of w's.
Weight reorderedColumns(const Weight& w, const std::vector<std::int64_t>& order, std::int64_t width) {
  const auto cols = static_cast<std::int64_t>(order.size()) * width;
  const auto rows = static_cast<std::int64_t>(w.data.size()) / cols;
  Weight out{w.shape, std::vector<float>(w.data.size())};
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::size_t k = 0; k < order.size(); ++k)
      for (std::int64_t j = 0; j < width; ++j)
        out.data[r * cols + static_cast<std::int64_t>(k) * width + j] = w.data[r * cols + order[k] * width + j];
  return out;
}

std::string joined(const Ints& v) {
  if (v.size() == 1) return fmt::format("({},)", v[0]);
  return fmt::format("({})", fmt::join(v, ", "));
}

// A pair attribute as the language takes it: one number when both are equal.
std::string pairArg(const Ints& v) { return v.size() == 2 && v[0] == v[1] ? std::to_string(v[0]) : joined(v); }

std::string number(double v) {
  if (!std::isfinite(v)) throw std::runtime_error(fmt::format("the constant {} cannot be written", v));
  // The model's constants are f32: 1e-5 widened from f32 reads better as the f32 it is.
  if (const auto f = static_cast<float>(v); static_cast<double>(f) == v) return fmt::format("{}", f);
  return fmt::format("{}", v);
}

class SourceWriter {
 public:
  SourceWriter(const Imported& im, std::string onnxPath)
      : im_(im), g_(im.module.forward), onnxPath_(std::move(onnxPath)), uses_(g_.nodes.size(), 0) {}
  ModelSource write();

 private:
  // A loop's body, written inside the loop statement by `outer`: its inputs named by `inputs` (the carried
  // names, the step names, the closures' names outside), its names taken from the outer writer's.
  SourceWriter(SourceWriter& outer, const ir::Graph& body, std::map<NodeId, std::string> inputs)
      : im_(outer.im_),
        g_(body),
        uses_(body.nodes.size(), 0),
        names_(outer.names_),
        valueNames_(kNoNames),
        ids_(std::move(inputs)),
        indent_(outer.indent_ + "  "),
        outer_(&outer) {}

  static inline const std::map<NodeId, std::string> kNoNames;  // a body's nodes have no ONNX value names

  const Imported& im_;
  const ir::Graph& g_;
  std::string onnxPath_;
  std::vector<int> uses_;
  SourceNames ownNames_;
  SourceNames& names_ = ownNames_;
  const std::map<NodeId, std::string>& valueNames_ = im_.valueNames;
  std::map<NodeId, Layer> layers_;     // by the node whose value the layer's call computes
  std::set<NodeId> inLayer_;           // nodes a layer's call computes (its product, its params)
  std::map<NodeId, std::string> ids_;  // nodes referred to by name: inputs, params, statements
  std::vector<Expr> exprs_;            // per node, once written
  std::vector<std::string> statements_;
  std::vector<std::string> outputs_;       // per result, its name in the file
  std::map<NodeId, std::size_t> results_;  // the computed nodes that are results: the first result's index
  // The results defined where they are computed: the first ones, so that the outputs keep the graph's order
  // (the ABI's); the others are defined after the statements, in order.
  std::size_t inlineOutputs_ = 0;
  ModelSource out_;
  std::string indent_ = "  ";
  // The loops written: the first scan node of each, and the name of each of its body's results after it.
  std::vector<std::pair<NodeId, std::vector<std::string>>> loops_;
  const SourceWriter* outer_ = nullptr;  // a body's writer: the writer of the graph that holds the loop

  const ir::Node& node(NodeId id) const { return g_.node(id); }
  bool isParam(NodeId id, std::size_t rank) const {
    return node(id).op == Op::Param && uses_[id] == 1 && node(id).type.shape.size() == rank;
  }
  std::int64_t size(NodeId id, std::size_t axis) const { return node(id).type.shape.at(axis).size; }

  void countUses();
  void findLayers();
  bool matchDense(NodeId id);
  bool matchConv(NodeId id);
  bool matchEmbedding(NodeId id);
  bool matchLayerNorm(NodeId id);
  void matchRecurrent(const std::vector<RecurrentSite>& sites);
  void recurrentLayer(const RecurrentSite& site, NodeId read, NodeId input, bool transposeInput,
                      std::vector<NodeId> inner, const std::string& suffix, const std::string& path);
  bool isOp(NodeId id, Op op, int uses) const { return node(id).op == op && uses_[id] == uses; }
  bool lastAxisMean(NodeId id, NodeId of) const;
  NodeId soleUser(NodeId id) const;
  void addLayer(NodeId id, const std::string& kind, Layer l, const std::vector<NodeId>& inner,
                const std::string& path = "");
  std::string declarations();
  void writeNode(NodeId id);
  bool needsName(NodeId id) const;
  Expr render(const ir::Node& n);
  Expr operand(NodeId id) const;
  std::string named(NodeId id) const;
  Expr binary(const ir::Node& n, const char* op, int level);
  Expr call(const std::string& fn, const std::vector<std::string>& args) const;
  std::string shapeText(const ir::Shape& s, bool reshape) const;
  std::string dimText(const ir::Dim& d) const;
  std::string typeText(const ir::TensorType& t) const;
  Expr slice(const ir::Node& n) const;
  Expr pad(const ir::Node& n);
  Expr convTranspose(const ir::Node& n);
  Expr constant(double v, const ir::Shape& s) const;
  Expr broadcast(const ir::Node& n) const;
  const std::string& loop(const ir::Node& n);
  std::vector<std::string> bodyStatements(const std::vector<std::string>& resultNames, std::int64_t carries);
};

void SourceWriter::countUses() {
  for (const ir::Node& n : g_.nodes)
    for (NodeId o : n.operands) ++uses_[o];
  for (const ir::Result& r : g_.results) ++uses_[r.node];
}

std::string SourceWriter::named(NodeId id) const {
  const auto it = ids_.find(id);
  if (it == ids_.end()) throw std::logic_error("write_source: a sliced value has no name");
  return it->second;
}

// x @ w (+ b) with w[in, out] and b[out] params read only there: Dense(in, out).
bool SourceWriter::matchDense(NodeId id) {
  const ir::Node& n = node(id);
  NodeId product = id, bias = -1;
  for (int side = 0; side < 2 && n.op == Op::Add; ++side) {  // torch writes MatMul + b and b + MatMul
    const NodeId p = n.operands[side], b = n.operands[1 - side];
    if (node(p).op == Op::MatMul && uses_[p] == 1 && isParam(b, 1)) {
      product = p;
      bias = b;
    }
  }
  const ir::Node& p = node(product);
  if (p.op != Op::MatMul || !isParam(p.operands[1], 2)) return false;
  const NodeId w = p.operands[1];
  if (bias >= 0 && size(bias, 0) != size(w, 1)) return false;
  Layer l{"",
          fmt::format("Dense({}, {}{})", size(w, 0), size(w, 1), bias >= 0 ? "" : ", bias = 0"),
          p.operands[0],
          {{"w", w}}};
  if (bias >= 0) l.params.emplace_back("b", bias);
  addLayer(id, "dense", std::move(l), {product});
  return true;
}

// conv2d(x, w) (+ b) with a square kernel w[out, in, k, k], b[out, 1, 1], the same stride and padding along
// both axes and no dilation: Conv2D(in, out, k, ...).
bool SourceWriter::matchConv(NodeId id) {
  const ir::Node& n = node(id);
  NodeId conv = id, bias = -1;
  if (n.op == Op::Add && node(n.operands[0]).op == Op::Conv2D && uses_[n.operands[0]] == 1 &&
      isParam(n.operands[1], 3)) {
    conv = n.operands[0];
    bias = n.operands[1];
  }
  const ir::Node& c = node(conv);
  if (c.op != Op::Conv2D || !isParam(c.operands[1], 4)) return false;
  const NodeId w = c.operands[1];
  const Ints& stride = c.attrs.getInts("stride");
  const Ints& padding = c.attrs.getInts("padding");
  const bool square = size(w, 2) == size(w, 3) && stride[0] == stride[1] && padding[0] == padding[1];
  if (!square || (c.attrs.has("dilation") && c.attrs.getInts("dilation") != Ints{1, 1})) return false;
  if (c.attrs.has("groups") && c.attrs.getInt("groups") != 1) return false;
  if (bias >= 0 && (size(bias, 0) != size(w, 0) || size(bias, 1) != 1 || size(bias, 2) != 1)) return false;
  std::string make = fmt::format("Conv2D({}, {}, {}", size(w, 1), size(w, 0), size(w, 2));
  if (stride[0] != 1) make += fmt::format(", stride = {}", stride[0]);
  if (padding[0] != 0) make += fmt::format(", padding = {}", padding[0]);
  make += bias >= 0 ? ")" : ", bias = 0)";
  Layer l{"", make, c.operands[0], {{"w", w}}};
  if (bias >= 0) l.params.emplace_back("b", bias);
  addLayer(id, "conv", std::move(l), {conv});
  return true;
}

// gather(table, ids) with a table[vocab, dim] param read only there: Embedding(vocab, dim).
bool SourceWriter::matchEmbedding(NodeId id) {
  const ir::Node& n = node(id);
  if (n.op != Op::Gather || !isParam(n.operands[0], 2)) return false;
  const NodeId table = n.operands[0];
  addLayer(id, "embedding",
           {"", fmt::format("Embedding({}, {})", size(table, 0), size(table, 1)), n.operands[1], {{"table", table}}},
           {});
  return true;
}

// A mean over the last axis, kept: what lib/nn.sn's LayerNorm takes of x and of the squared deviations.
bool SourceWriter::lastAxisMean(NodeId id, NodeId of) const {
  const ir::Node& n = node(id);
  const auto rank = static_cast<std::int64_t>(node(of).type.shape.size());
  return n.op == Op::ReduceMean && uses_[id] == 1 && n.operands[0] == of && n.attrs.getInt("keepdims") != 0 &&
         n.attrs.getInts("axes") == Ints{rank - 1};
}

// d / sqrt(mean(d * d) + eps) * gamma + beta with d = x - mean(x) over the last axis, as LayerNormalization
// imports and as torch decomposes it before opset 17 (with d ** 2): LayerNorm(features, eps).
bool SourceWriter::matchLayerNorm(NodeId id) {
  const ir::Node& add = node(id);
  if (add.op != Op::Add || !isOp(add.operands[0], Op::Mul, 1) || !isParam(add.operands[1], 1)) return false;
  const ir::Node& scale = node(add.operands[0]);
  if (!isOp(scale.operands[0], Op::Div, 1) || !isParam(scale.operands[1], 1)) return false;
  const ir::Node& div = node(scale.operands[0]);
  const NodeId d = div.operands[0];
  if (!isOp(div.operands[1], Op::Sqrt, 1) || node(d).op != Op::Sub) return false;
  const ir::Node& shifted = node(node(div.operands[1]).operands[0]);  // var + eps
  if (shifted.op != Op::Add || uses_[shifted.id] != 1 || node(shifted.operands[1]).op != Op::Constant) return false;
  const NodeId x = node(d).operands[0];
  if (!lastAxisMean(node(d).operands[1], x)) return false;
  const NodeId var = shifted.operands[0];
  if (node(var).op != Op::ReduceMean || uses_[var] != 1) return false;
  const ir::Node& square = node(node(var).operands[0]);
  const bool squared = uses_[square.id] == 1 && square.operands[0] == d &&
                       ((square.op == Op::Mul && square.operands[1] == d && uses_[d] == 3) ||
                        (square.op == Op::Pow && node(square.operands[1]).op == Op::Constant &&
                         node(square.operands[1]).scalar == 2 && uses_[d] == 2));
  if (!squared || !lastAxisMean(var, square.id)) return false;
  const std::int64_t features = size(add.operands[1], 0);
  if (node(x).type.shape.back() != ir::Dim::fixed(features) || size(scale.operands[1], 0) != features) return false;
  const double eps = node(shifted.operands[1]).scalar;
  addLayer(id, "layer_norm",
           {"",
            fmt::format("LayerNorm({}{})", features, static_cast<float>(eps) == 1e-5F ? "" : ", eps = " + number(eps)),
            x,
            {{"gamma", scale.operands[1]}, {"beta", add.operands[1]}}},
           {scale.id, div.id, d, node(d).operands[1], div.operands[1], shifted.id, var, square.id});
  return true;
}

// An unrolled ONNX LSTM, GRU or RNN whose directions lib/nn.sn's layer computes (RecurrentSite, one per
// direction) and whose steps nothing else reads, as one layer per direction. Of each direction one value is
// read: its final state, reshape(rnn(x), (1, batch, hidden)) (reshape(rnn_reverse.reversed(x), ...) for the
// reverse one; a bidirectional node's Y_h is written as the concat of both), or, forward and alone, its
// sequence Y (recurrentLayer). Not when a forward node's Y and Y_h are both read (the layer's forward and
// sequence would run the loop twice), a bidirectional node's Y, nor an LSTM's Y_c (the layer returns no cell
// state). x is taken batch-first (torch's transpose to time-major dropped, else one written).
void SourceWriter::matchRecurrent(const std::vector<RecurrentSite>& sites) {
  const NodeId first = sites[0].nodeFirst, last = sites[0].nodeLast, xId = sites[0].x;
  const auto inNode = [&](NodeId id) { return id >= first && id <= last; };
  const auto siteOf = [&](NodeId id) {
    for (std::size_t i = 0; i < sites.size(); ++i)
      if (id >= sites[i].first && id <= sites[i].last) return static_cast<int>(i);
    return -1;
  };
  // The node's values made after its directions' steps (a bidirectional node's Y, Y_h, Y_c): kept when read
  // after the node or an output, else dropped with the steps.
  std::set<NodeId> kept;
  for (const ir::Node& n : g_.nodes)
    for (NodeId o : n.operands)
      if (!inNode(n.id) && inNode(o) && siteOf(o) < 0) kept.insert(o);
  for (const ir::Result& r : g_.results)
    if (inNode(r.node) && siteOf(r.node) < 0) kept.insert(r.node);
  std::vector<NodeId> reads(sites.size(), -1);  // per direction, the one value read after its steps
  const auto readable = [&](NodeId o) {
    const int i = siteOf(o);
    if (i < 0) return true;
    const RecurrentSite& site = sites[static_cast<std::size_t>(i)];
    NodeId& read = reads[static_cast<std::size_t>(i)];
    if ((o != site.finalState && o != site.sequence) || (read >= 0 && read != o)) return false;
    read = o;
    return true;
  };
  std::set<NodeId> before, dropped;  // the zero states before the steps that only they read; the unread values
  for (const ir::Node& n : g_.nodes) {
    if (inNode(n.id) && !kept.count(n.id)) {
      if (siteOf(n.id) < 0) dropped.insert(n.id);
      for (NodeId o : n.operands)
        if (!inNode(o) && o != xId) before.insert(o);
      continue;
    }
    for (NodeId o : n.operands)
      if (!readable(o) || (kept.count(n.id) && inNode(o) && siteOf(o) < 0)) return;
  }
  for (const ir::Result& r : g_.results)
    if (!readable(r.node)) return;
  if (std::find(reads.begin(), reads.end(), NodeId{-1}) != reads.end()) return;
  for (NodeId b : before)
    if (node(b).op != Op::Constant) return;
  for (const ir::Node& n : g_.nodes)
    if (!inNode(n.id) || kept.count(n.id))
      for (NodeId o : n.operands)
        if (before.count(o)) return;

  // torch's batch_first input is a transpose to time-major that only the steps read: the layers take it as is.
  const ir::Node& x = node(xId);
  const bool dropTranspose = x.op == Op::Transpose && x.attrs.getInts("perm") == Ints{1, 0, 2} &&
                             uses_[x.id] == static_cast<int>(sites.size());
  if (dropTranspose) before.insert(x.id);
  std::string path;  // torch's module: the instances' name
  for (NodeId id = first; id <= last && path.empty(); ++id)
    if (const auto it = valueNames_.find(id); it != valueNames_.end()) path = SourceNames::layerPath(it->second);
  if (const std::string& w = node(sites[0].wx).name; path.empty()) path = w.substr(0, w.rfind(".wx"));  // the node's
  for (std::size_t i = 0; i < sites.size(); ++i) {
    std::vector<NodeId> inner;
    if (i == 0) {
      inner.assign(before.begin(), before.end());
      inner.insert(inner.end(), dropped.begin(), dropped.end());
    }
    recurrentLayer(sites[i], reads[i], dropTranspose ? x.operands[0] : xId, !dropTranspose, std::move(inner),
                   sites[i].reversed && sites.size() > 1 ? "_reverse" : "", path);
  }
}

// One direction's layer, called on `input` (made time-major first if `transposeInput`) where `read` is: its
// final state, or its sequence Y, rnn.sequence(x) [batch, T, hidden] made Y's [T, 1, batch, hidden] (torch's
// squeeze of Y's direction axis and its transpose back to batch-first are taken into the call). The params go
// to the layer's layout: ONNX's gate order (i, o, f, c for an LSTM; z, r, h for a GRU) to PyTorch's (i, f, g,
// o; r, z, n); a GRU's recurrent biases of r and z are already in bx, the candidate's is bh's last block.
void SourceWriter::recurrentLayer(const RecurrentSite& site, NodeId read, NodeId input, bool transposeInput,
                                  std::vector<NodeId> inner, const std::string& suffix, const std::string& path) {
  const std::int64_t h = site.hidden;
  const auto weight = [&](NodeId p) -> const Weight& { return im_.weights.at(node(p).name); };
  std::vector<std::int64_t> order{0};
  if (site.layer == "LSTM") order = {0, 2, 3, 1};
  if (site.layer == "GRU") order = {1, 0, 2};
  Layer l{"", fmt::format("{}({}, {})", site.layer, site.in, h), input, {{"cell.wx", site.wx}, {"cell.wh", site.wh}}};
  l.converted = {reorderedColumns(weight(site.wx), order, h), reorderedColumns(weight(site.wh), order, h)};
  const Weight bx = reorderedColumns(weight(site.bx), order, h);
  if (site.layer == "GRU") {
    Weight bh{{3 * h}, std::vector<float>(static_cast<std::size_t>(3 * h), 0.0f)};
    std::copy(weight(site.bh).data.begin(), weight(site.bh).data.end(), bh.data.begin() + 2 * h);
    l.params.insert(l.params.end(), {{"cell.bx", site.bx}, {"cell.bh", site.bh}});
    l.converted.insert(l.converted.end(), {bx, bh});
  } else {
    l.params.emplace_back("cell.b", site.bx);
    l.converted.push_back(bx);
  }
  l.transposeInput = transposeInput;
  for (NodeId id = site.first; id <= site.last; ++id) inner.push_back(id);
  NodeId at = read;  // the node whose value the call computes
  if (read == site.finalState) {
    if (site.reversed) l.method = "reversed";
    l.resultShape = shapeText(node(read).type.shape, true);
  } else {
    l.method = "sequence";
    // Y [T, 1, batch, hidden] squeezed to [T, batch, hidden] (both ways of torch's), then perhaps transposed
    // to [batch, T, hidden]: the layer's own result.
    const ir::Shape& y = node(read).type.shape;
    const NodeId squeeze = soleUser(read);
    if (squeeze >= 0 && node(squeeze).op == Op::Reshape && node(squeeze).type.shape == ir::Shape{y[0], y[2], y[3]}) {
      at = squeeze;
      l.transposeResult = true;
      const NodeId t = soleUser(squeeze);
      if (t >= 0 && node(t).op == Op::Transpose && node(t).attrs.getInts("perm") == Ints{1, 0, 2}) {
        inner.push_back(squeeze);
        at = t;
        l.transposeResult = false;
      }
    } else {
      l.transposeResult = true;
      l.resultShape = shapeText(y, true);
    }
  }
  std::string kind = site.layer == "SimpleRNN" ? "rnn" : site.layer;
  std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
  addLayer(at, kind, std::move(l), inner, path + suffix);
}

// The node that reads id, when it is id's only use (not a result); else -1.
NodeId SourceWriter::soleUser(NodeId id) const {
  if (uses_[id] != 1 || results_.count(id)) return -1;
  for (const ir::Node& n : g_.nodes)
    if (std::find(n.operands.begin(), n.operands.end(), id) != n.operands.end()) return n.id;
  return -1;
}

// Names the instance `path` if given, else after the ONNX node's module path (torch's "/fc1/Gemm"), else its
// weight's name ("fc1.weight"), else the kind; its params are its paths' weights.
void SourceWriter::addLayer(NodeId id, const std::string& kind, Layer l, const std::vector<NodeId>& inner,
                            const std::string& path) {
  std::string base = path;
  if (const auto it = valueNames_.find(id); base.empty() && it != valueNames_.end())
    base = SourceNames::layerPath(it->second);
  const std::string& wName = node(l.params[0].second).name;
  if (base.empty() && wName.find('.') != std::string::npos) base = wName.substr(0, wName.rfind('.'));
  if (base.empty() || std::isdigit(static_cast<unsigned char>(base[0]))) base = kind + base;  // nn.Sequential's "0"
  l.instance = names_.take(base);
  for (std::size_t i = 0; i < l.params.size(); ++i) {
    const auto& [field, param] = l.params[i];
    out_.weights[l.instance + "." + field] = l.converted.empty() ? im_.weights.at(node(param).name) : l.converted[i];
    inLayer_.insert(param);
  }
  for (NodeId i : inner)
    if (i != id) inLayer_.insert(i);
  layers_.emplace(id, std::move(l));
}

// From the results back, so that a bias's add is matched before the product it adds to.
void SourceWriter::findLayers() {
  // One ONNX node's directions together: they share its zero state and its Y_h.
  for (auto it = im_.recurrent.begin(); it != im_.recurrent.end();) {
    const auto end =
        std::find_if(it, im_.recurrent.end(), [&](const RecurrentSite& s) { return s.nodeFirst != it->nodeFirst; });
    matchRecurrent({it, end});
    it = end;
  }
  for (NodeId id = static_cast<NodeId>(g_.nodes.size()) - 1; id >= 0; --id)
    if (!inLayer_.count(id)) matchDense(id) || matchConv(id) || matchEmbedding(id) || matchLayerNorm(id);
}

std::string SourceWriter::shapeText(const ir::Shape& s, bool reshape) const {
  int symbolic = 0;
  for (const ir::Dim& d : s) symbolic += d.isSymbolic();
  std::vector<std::string> dims;
  for (const ir::Dim& d : s) {
    if (!d.isSymbolic()) {
      dims.push_back(std::to_string(d.size));
    } else if (reshape && symbolic == 1) {
      dims.emplace_back("-1");  // the one dimension left: torch's x.view(-1, ...)
    } else {
      dims.push_back(dimText(d));
    }
  }
  return dims.size() == 1 ? fmt::format("({},)", dims[0]) : fmt::format("({})", fmt::join(dims, ", "));
}

// A symbolic dimension as `dim(input, axis)` of the first input that has it; in a loop's body, of a body
// input, else of the model's (a body reads names outside it).
std::string SourceWriter::dimText(const ir::Dim& d) const {
  for (NodeId in : g_.inputs)
    for (std::size_t a = 0; a < node(in).type.shape.size(); ++a)
      if (node(in).type.shape[a] == d) return fmt::format("dim({}, {})", ids_.at(in), a);
  if (outer_) return outer_->dimText(d);
  throw std::runtime_error(fmt::format("the symbolic dimension {} is no input's dimension", d.symbol));
}

std::string SourceWriter::typeText(const ir::TensorType& t) const {
  std::vector<std::string> dims;
  for (const ir::Dim& d : t.shape) dims.push_back(d.isSymbolic() ? d.symbol : std::to_string(d.size));
  return fmt::format("{}[{}]", ir::dtypeName(t.dtype), fmt::join(dims, ", "));
}

Expr SourceWriter::operand(NodeId id) const {
  if (const auto it = ids_.find(id); it != ids_.end()) return {it->second, kAtom};
  return exprs_.at(id);
}

Expr SourceWriter::binary(const ir::Node& n, const char* op, int level) {
  const Expr a = operand(n.operands[0]), b = operand(n.operands[1]);
  // `@` is parenthesized inside and around any other operator: its precedence against `*` is not obvious.
  const auto wrap = [&](const Expr& e, bool right) {
    const bool mixed = (e.level == kMatMul) != (level == kMatMul) && e.level != kAtom;
    const bool low = e.level < level || (right && e.level == level) || (level == kPow && e.level != kAtom);
    return mixed || low ? "(" + e.text + ")" : e.text;
  };
  return {fmt::format("{} {} {}", wrap(a, false), op, wrap(b, true)), level};
}

Expr SourceWriter::call(const std::string& fn, const std::vector<std::string>& args) const {
  return {fmt::format("{}({})", fn, fmt::join(args, ", ")), kAtom};
}

Expr SourceWriter::slice(const ir::Node& n) const {
  const std::int64_t axis = n.attrs.getInt("axis"), start = n.attrs.getInt("start"), end = n.attrs.getInt("end"),
                     step = n.attrs.getInt("step");
  std::string s;
  for (std::int64_t i = 0; i < axis; ++i) s += ":, ";
  s += fmt::format("{}:", start);
  if (step > 0 || end >= 0) s += std::to_string(end);
  if (step != 1) s += fmt::format(":{}", step);
  return {fmt::format("{}[{}]", named(n.operands[0]), s), kAtom};
}

// The IR's before/after per axis as the language's (before, after) pairs from the last axis.
Expr SourceWriter::pad(const ir::Node& n) {
  const Ints& before = n.attrs.getInts("before");
  const Ints& after = n.attrs.getInts("after");
  std::size_t first = 0;
  while (first < before.size() && before[first] == 0 && after[first] == 0) ++first;
  Ints pairs;
  for (std::size_t i = before.size(); i-- > first;) {
    pairs.push_back(before[i]);
    pairs.push_back(after[i]);
  }
  std::vector<std::string> args{operand(n.operands[0]).text, joined(pairs)};
  if (const double v = n.attrs.getFloat("value"); v != 0) args.push_back("value = " + number(v));
  return call("pad", args);
}

// The language's function for a comparison or a logical op of two operands, or nullptr.
const char* comparison(Op op) {
  static const std::map<Op, const char*> fns = {{Op::Less, "less"},
                                                {Op::LessEqual, "less_equal"},
                                                {Op::Greater, "greater"},
                                                {Op::GreaterEqual, "greater_equal"},
                                                {Op::Equal, "equal"},
                                                {Op::NotEqual, "not_equal"},
                                                {Op::LogicalAnd, "logical_and"},
                                                {Op::LogicalOr, "logical_or"}};
  const auto it = fns.find(op);
  return it == fns.end() ? nullptr : it->second;
}

// conv2d_grad_input as conv_transpose2d: its output_padding is what the node's size has beyond the size
// the stride, padding and dilation give.
Expr SourceWriter::convTranspose(const ir::Node& n) {
  const Ints& stride = n.attrs.getInts("stride");
  const Ints& padding = n.attrs.getInts("padding");
  const Ints dilation = n.attrs.has("dilation") ? n.attrs.getInts("dilation") : Ints{1, 1};
  Ints extra(2);
  for (std::size_t k = 0; k < 2; ++k)
    extra[k] = n.type.shape[2 + k].size - ((size(n.operands[0], 2 + k) - 1) * stride[k] - 2 * padding[k] +
                                           dilation[k] * (size(n.operands[1], 2 + k) - 1) + 1);
  std::vector<std::string> args{operand(n.operands[0]).text, operand(n.operands[1]).text};
  if (stride != Ints{1, 1}) args.push_back("stride = " + pairArg(stride));
  if (padding != Ints{0, 0}) args.push_back("padding = " + pairArg(padding));
  if (extra != Ints{0, 0}) args.push_back("output_padding = " + pairArg(extra));
  if (dilation != Ints{1, 1}) args.push_back("dilation = " + pairArg(dilation));
  return call("conv_transpose2d", args);
}

Expr SourceWriter::constant(double v, const ir::Shape& s) const {
  if (s.empty()) return {number(v), v < 0 ? kNeg : kAtom};
  const std::string shape = shapeText(s, false);
  if (v == 0 || v == 1) return call(v == 0 ? "zeros" : "ones", {shape});
  return {fmt::format("{} * ones({})", number(v), shape), kMul};
}

// A broadcast: of a number (what ONNX's Expand of a zero state imports as), the constant of that shape;
// of a tensor, its sum with zeros of the shape.
Expr SourceWriter::broadcast(const ir::Node& n) const {
  const ir::Node& x = node(n.operands[0]);
  if (x.op == Op::Constant && x.type.shape.empty()) return constant(x.scalar, n.type.shape);
  return {fmt::format("{} + {}", operand(x.id).text, constant(0, n.type.shape).text), kAdd};
}

Expr SourceWriter::render(const ir::Node& n) {
  const auto x = [&] { return operand(n.operands[0]).text; };
  const auto axes = [&](const Ints& v) { return v.size() == 1 ? std::to_string(v[0]) : joined(v); };
  if (n.op == Op::Add) return binary(n, "+", kAdd);
  if (n.op == Op::Sub) return binary(n, "-", kAdd);
  if (n.op == Op::Mul) return binary(n, "*", kMul);
  if (n.op == Op::Div) return binary(n, "/", kMul);
  if (n.op == Op::MatMul) return binary(n, "@", kMatMul);
  if (n.op == Op::Pow) return binary(n, "**", kPow);
  if (n.op == Op::Neg) {
    const Expr e = operand(n.operands[0]);
    return {e.level == kAtom ? "-" + e.text : "-(" + e.text + ")", kNeg};
  }
  if (n.op == Op::Constant) return constant(n.scalar, n.type.shape);
  if (n.op == Op::Broadcast) return broadcast(n);
  if (n.op == Op::Conv2D) {
    std::vector<std::string> args{x(), operand(n.operands[1]).text};
    if (n.attrs.getInts("stride") != Ints{1, 1}) args.push_back("stride = " + pairArg(n.attrs.getInts("stride")));
    if (n.attrs.getInts("padding") != Ints{0, 0}) args.push_back("padding = " + pairArg(n.attrs.getInts("padding")));
    if (n.attrs.has("dilation") && n.attrs.getInts("dilation") != Ints{1, 1})
      args.push_back("dilation = " + pairArg(n.attrs.getInts("dilation")));
    return call("conv2d", args);
  }
  if (n.op == Op::MaxPool2D || n.op == Op::AvgPool2D) {
    const Ints& k = n.attrs.getInts("kernel");
    std::vector<std::string> args{x(), pairArg(k)};
    if (n.attrs.getInts("stride") != k) args.push_back("stride = " + pairArg(n.attrs.getInts("stride")));
    if (n.attrs.getInts("padding") != Ints{0, 0}) args.push_back("padding = " + pairArg(n.attrs.getInts("padding")));
    return call(n.op == Op::MaxPool2D ? "max_pool2d" : "avg_pool2d", args);
  }
  if (n.op == Op::ReduceSum || n.op == Op::ReduceMean || n.op == Op::ReduceMax) {
    const char* fn = n.op == Op::ReduceSum ? "sum" : n.op == Op::ReduceMean ? "mean" : "max";
    std::vector<std::string> args{x(), "axis = " + axes(n.attrs.getInts("axes"))};
    if (n.attrs.getInt("keepdims") != 0) args.emplace_back("keepdims = 1");
    return call(fn, args);
  }
  if (n.op == Op::Softmax || n.op == Op::LogSoftmax)
    return call(n.op == Op::Softmax ? "softmax" : "log_softmax",
                {x(), fmt::format("axis = {}", n.attrs.getInt("axis"))});
  if (n.op == Op::Reshape) return call("reshape", {x(), shapeText(n.type.shape, true)});
  if (n.op == Op::Transpose) return call("transpose", {x(), joined(n.attrs.getInts("perm"))});
  if (n.op == Op::Concat) {
    std::vector<std::string> xs;
    for (NodeId o : n.operands) xs.push_back(operand(o).text);
    return call("concat", {fmt::format("({}{})", fmt::join(xs, ", "), xs.size() == 1 ? "," : ""),
                           fmt::format("axis = {}", n.attrs.getInt("axis"))});
  }
  if (n.op == Op::Slice) return slice(n);
  if (n.op == Op::Pad) return pad(n);
  if (n.op == Op::Gather) return call("gather", {x(), operand(n.operands[1]).text});
  if (n.op == Op::Cast) return call(std::string(ir::dtypeName(n.type.dtype)), {x()});
  if (n.op == Op::LeakyRelu) return call("leaky_relu", {x(), "alpha = " + number(n.attrs.getFloat("alpha"))});
  if (n.op == Op::ArgMax) return call("argmax", {x(), fmt::format("axis = {}", n.attrs.getInt("axis"))});
  if (n.op == Op::Conv2DGradInput) return convTranspose(n);
  // The comparisons as functions, not operators: `<` does not chain, and a function needs no parentheses.
  if (const char* fn = comparison(n.op)) return call(fn, {x(), operand(n.operands[1]).text});
  if (n.op == Op::Where) return call("where", {x(), operand(n.operands[1]).text, operand(n.operands[2]).text});

  const ir::OpDef& def = ir::opDef(n.op);
  if (def.builtin.name.empty() || n.operands.size() > 2)
    throw std::runtime_error(fmt::format("the op {} has no form in the model language", def.name));
  std::vector<std::string> args;
  for (NodeId o : n.operands) args.push_back(operand(o).text);
  return call(std::string(def.builtin.name), args);
}

// A statement for a value read more than once, a layer's call, a sliced value, and each ONNX node's value
// other than single-use arithmetic (which reads better inline).
bool SourceWriter::needsName(NodeId id) const {
  const ir::Node& n = node(id);
  if (results_.count(id)) return true;
  for (const ir::Node& user : g_.nodes)
    if (user.op == Op::Slice && user.operands[0] == id) return true;
  if (n.op == Op::Constant) return false;
  // A loop's operand: its body reads a name at every step, not an expression computed again.
  for (const ir::Node& user : g_.nodes)
    if (user.op == Op::Scan && std::find(user.operands.begin(), user.operands.end(), id) != user.operands.end())
      return true;
  if (uses_[id] != 1 || layers_.count(id)) return true;
  const bool onnxValue = valueNames_.count(id) != 0;
  return onnxValue && !(ir::opDef(n.op).flags & ir::kElementwise);
}

void SourceWriter::writeNode(NodeId id) {
  const ir::Node& n = node(id);
  if (const auto it = layers_.find(id); it != layers_.end()) {
    const Layer& l = it->second;
    std::string arg = operand(l.input).text;
    if (l.transposeInput) arg = fmt::format("transpose({}, (1, 0, 2))", arg);
    std::string text = fmt::format("{}{}({})", l.instance, l.method.empty() ? "" : "." + l.method, arg);
    if (l.transposeResult) text = fmt::format("transpose({}, (1, 0, 2))", text);
    if (!l.resultShape.empty()) text = fmt::format("reshape({}, {})", text, l.resultShape);
    exprs_[id] = {text, kAtom};
  } else if (n.op == Op::Scan) {  // the loop's statement, at its first node; then the name of this result
    exprs_[id] = {loop(n), kAtom};
    if (!results_.count(id) || outer_) ids_[id] = exprs_[id].text;
  } else {
    exprs_[id] = render(n);
  }
  if (!needsName(id) || ids_.count(id)) return;
  // The next output in the graph's order is defined where it is computed.
  if (const auto r = results_.find(id); r != results_.end() && !outer_ && r->second == inlineOutputs_) {
    statements_.push_back(fmt::format("{}output {} = {}\n", indent_, outputs_[r->second], exprs_[id].text));
    ids_[id] = outputs_[r->second];
    ++inlineOutputs_;
    return;
  }
  std::string base;
  if (const auto it = valueNames_.find(id); it != valueNames_.end()) base = SourceNames::fromValueName(it->second);
  if (const auto it = layers_.find(id); base.empty() && it != layers_.end()) base = it->second.instance + "_out";
  if (base.empty()) base = fmt::format("{}{}", ir::opName(n.op), id);
  const std::string name = names_.take(base);
  statements_.push_back(fmt::format("{}{} = {}\n", indent_, name, exprs_[id].text));
  ids_[id] = name;
}

// A scan as a loop over sequences (docs/language.md, "Loops over sequences"), written at its first node:
//   h = <initial carry>
//   for x_t, ... in <sequence>, ... along AXIS [reverse] {
//     <the body's statements>
//     h = <next carry>
//     stack hs = <value of the step>
//   }
// The carried names are new, so that the initial values keep theirs. Returns the name of node n's result.
const std::string& SourceWriter::loop(const ir::Node& n) {
  const auto same = [&](NodeId first) { return node(first).body == n.body && ir::sameSteps(node(first), n); };
  const ir::ScanShape s = ir::ScanShape::of(n);
  for (const auto& [first, names] : loops_)
    if (same(first)) return names.at(static_cast<std::size_t>(s.result));
  const ir::Graph& b = *n.body;
  std::vector<std::string> names(b.results.size());
  for (const ir::Node& m : g_.nodes)  // named after the ONNX outputs the loop's nodes hold
    if (m.op == Op::Scan && same(m.id))
      if (const auto it = valueNames_.find(m.id); it != valueNames_.end())
        names[static_cast<std::size_t>(m.attrs.getInt("result"))] = SourceNames::fromValueName(it->second);
  for (std::size_t r = 0; r < names.size(); ++r)
    names[r] = names_.take(names[r].empty() ? fmt::format("{}{}", s.isCarry(r) ? "state" : "steps", r) : names[r]);
  std::map<NodeId, std::string> inputs;
  std::vector<std::string> steps, seqs;
  for (std::size_t i = 0; i < n.operands.size(); ++i) {
    const Expr e = operand(n.operands[i]);
    std::string& name = inputs[b.inputs[i]];
    if (s.isCarry(i)) {
      name = names[i];
      statements_.push_back(fmt::format("{}{} = {}\n", indent_, name, e.text));
    } else if (s.isSeq(i)) {
      name = names_.take(b.node(b.inputs[i]).name + "_step");
      steps.push_back(name);
      seqs.push_back(e.text);
    } else {
      name = e.level == kAtom ? e.text : "(" + e.text + ")";  // a closure: the outer value, by its name
    }
  }
  statements_.push_back(fmt::format("{}for {} in {} along {}{} {{\n", indent_, fmt::join(steps, ", "),
                                    fmt::join(seqs, ", "), s.axis, s.reverse ? " reverse" : ""));
  SourceWriter inner(*this, b, std::move(inputs));
  for (std::string& st : inner.bodyStatements(names, s.carries)) statements_.push_back(std::move(st));
  statements_.push_back(indent_ + "}\n");
  loops_.emplace_back(n.id, std::move(names));
  return loops_.back().second.at(static_cast<std::size_t>(s.result));
}

// The statements of a loop's body: its values, then the carried names' next values and the stacked values.
// Every result is named first, so that assigning a carried name cannot change what another result reads.
std::vector<std::string> SourceWriter::bodyStatements(const std::vector<std::string>& resultNames,
                                                      std::int64_t carries) {
  countUses();
  exprs_.resize(g_.nodes.size());
  for (std::size_t i = 0; i < g_.results.size(); ++i) results_.emplace(g_.results[i].node, i);
  for (const ir::Node& n : g_.nodes)
    if (n.op != Op::Input) writeNode(n.id);
  std::vector<std::string> values;
  for (std::size_t i = 0; i < g_.results.size(); ++i) {
    std::string v = operand(g_.results[i].node).text;
    // A carry's previous value as another result (two carries swapped, a stacked previous state): copied
    // before the carried names are assigned.
    const auto carried = g_.inputs.begin() + carries;
    const auto in = std::find(g_.inputs.begin(), carried, g_.results[i].node);
    if (in != carried && static_cast<std::size_t>(in - g_.inputs.begin()) != i) {
      const std::string copy = names_.take(v + "_before");
      statements_.push_back(fmt::format("{}{} = {}\n", indent_, copy, v));
      v = copy;
    }
    values.push_back(std::move(v));
  }
  for (std::size_t r = 0; r < values.size(); ++r) {
    if (static_cast<std::int64_t>(r) >= carries)
      statements_.push_back(fmt::format("{}stack {} = {}\n", indent_, resultNames[r], values[r]));
    else if (values[r] != resultNames[r])  // a carry the step leaves as it is needs no statement
      statements_.push_back(fmt::format("{}{} = {}\n", indent_, resultNames[r], values[r]));
  }
  return std::move(statements_);
}

std::string SourceWriter::declarations() {
  std::string s;
  for (NodeId in : g_.inputs) s += fmt::format("  input {}: {}\n", ids_.at(in), typeText(node(in).type));
  if (!layers_.empty()) s += "\n";
  for (const auto& [id, l] : layers_) s += fmt::format("  {} = {}\n", l.instance, l.make);
  bool any = false;
  for (NodeId p : g_.params) {
    if (inLayer_.count(p)) continue;
    if (!any) s += "\n";
    any = true;
    const std::string name = names_.take(node(p).name);
    ids_[p] = name;
    out_.weights[name] = im_.weights.at(node(p).name);
    s += fmt::format("  param {}: {}\n", name, typeText(node(p).type));
  }
  return s;
}

ModelSource SourceWriter::write() {
  countUses();
  exprs_.resize(g_.nodes.size());
  // The ABI keeps the inputs' and outputs' names: reserve them first.
  for (NodeId in : g_.inputs) {
    ids_[in] = SourceNames::identifier(node(in).name);
    names_.reserve(ids_[in]);
  }
  for (std::size_t i = 0; i < g_.results.size(); ++i) {
    outputs_.push_back(SourceNames::identifier(g_.results[i].name));
    names_.reserve(outputs_.back());
    const ir::Node& n = node(g_.results[i].node);
    if (n.op != Op::Input && n.op != Op::Param) results_.emplace(n.id, i);
  }
  findLayers();
  const std::string decls = declarations();
  for (const ir::Node& n : g_.nodes)
    if (n.op != Op::Input && n.op != Op::Param && !inLayer_.count(n.id)) writeNode(n.id);
  std::string& s = out_.text;
  s = fmt::format("# {} imported by `sinter import` (docs/onnx.md): the weights file beside it holds the params.\n",
                  std::filesystem::path(onnxPath_).filename().string());
  if (!layers_.empty()) s += "import \"nn.sn\"\n";
  s += fmt::format("\nmodel {} {{\n{}\n", SourceNames::identifier(g_.name), decls);
  for (const std::string& st : statements_) s += st;
  // The outputs not defined where they are computed: computed before an earlier output, a second name of a
  // value, an input or a param.
  for (std::size_t i = inlineOutputs_; i < g_.results.size(); ++i)
    s += fmt::format("  output {} = {}\n", outputs_[i], operand(g_.results[i].node).text);
  s += "}\n";
  return std::move(out_);
}

}  // namespace

ModelSource writeModelSource(const Imported& imported, const std::string& onnxPath) {
  return SourceWriter(imported, onnxPath).write();
}

}  // namespace sinter::onnxio
