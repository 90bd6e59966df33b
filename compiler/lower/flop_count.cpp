#include "compiler/lower/flop_count.h"

#include <fmt/format.h>

#include <map>
#include <stdexcept>
#include <utility>

#include "compiler/ir/scan.h"

namespace sinter::lower {
namespace {

std::int64_t extent(const ir::Dim& d, const Bindings& b) {
  if (!d.isSymbolic()) return d.size;
  auto it = b.find(d.symbol);
  if (it == b.end())
    throw std::runtime_error(
        fmt::format("no value for the symbolic dimension '{}' (use --bind {}=N)", d.symbol, d.symbol));
  return it->second;
}

bool isProduct(ir::Op op) { return op == ir::Op::MatMul || op == ir::Op::MatMulTN || op == ir::Op::MatMulNT; }
bool isConvolution(ir::Op op) {
  return op == ir::Op::Conv2D || op == ir::Op::Conv2DGradInput || op == ir::Op::Conv2DGradWeight;
}

// A product's extents: its broadcast batch, M and N from the result, K from the first operand.
struct ProductDims {
  std::int64_t batch = 1, m = 0, k = 0, n = 0;
};

ProductDims productDims(const ir::Graph& g, const ir::Node& n, const Bindings& b) {
  const ir::Shape& out = n.type.shape;
  const ir::Shape& a = g.node(n.operands[0]).type.shape;
  ProductDims p;
  for (std::size_t i = 0; i + 2 < out.size(); ++i) p.batch *= extent(out[i], b);
  p.m = extent(out[out.size() - 2], b);
  p.n = extent(out[out.size() - 1], b);
  // matmul_tn reads A as [K, M]; matmul and matmul_nt as [M, K].
  p.k = extent(n.op == ir::Op::MatMulTN ? a[a.size() - 2] : a[a.size() - 1], b);
  return p;
}

// A convolution's output [N, O, OH, OW] and kernel [O, C, KH, KW], whichever of the three forms n is: conv2d
// gives y from (x, w), conv2d_grad_input dx from (dy, w), conv2d_grad_weight dw from (x, dy).
struct ConvDims {
  std::int64_t images = 0, filters = 0, oh = 0, ow = 0, channels = 0, kh = 0, kw = 0;
};

ConvDims convDims(const ir::Graph& g, const ir::Node& n, const Bindings& b) {
  const bool gradWeight = n.op == ir::Op::Conv2DGradWeight;
  const ir::Shape& y = n.op == ir::Op::Conv2D ? n.type.shape : g.node(n.operands[gradWeight ? 1 : 0]).type.shape;
  const ir::Shape& w = gradWeight ? n.type.shape : g.node(n.operands[1]).type.shape;
  return {extent(y[0], b), extent(y[1], b), extent(y[2], b), extent(y[3], b),
          extent(w[1], b), extent(w[2], b), extent(w[3], b)};
}

std::string dimsText(const ir::Graph& g, const ir::Node& n, const Bindings& b) {
  if (isProduct(n.op)) {
    const ProductDims p = productDims(g, n, b);
    return fmt::format("{}{}x{}x{}", p.batch > 1 ? fmt::format("{}*", p.batch) : "", p.m, p.k, p.n);
  }
  const ConvDims c = convDims(g, n, b);
  return fmt::format("{}x{}x{}x{} <- {}x{}x{}", c.images, c.filters, c.oh, c.ow, c.channels, c.kh, c.kw);
}

// Adds g's products to `count`, each run `runs` times per run of the outer graph; loop bodies recursively.
void addGraph(const ir::Graph& g, const Bindings& b, std::int64_t runs, const std::string& prefix, FlopCount& count) {
  // The nodes of one loop's several results share its body and operands: the loop runs once.
  std::map<std::pair<const ir::Graph*, std::vector<ir::NodeId>>, bool> loopsSeen;
  for (const ir::Node& n : g.nodes) {
    if (n.op == ir::Op::Scan && n.body) {
      if (!loopsSeen.emplace(std::make_pair(n.body.get(), n.operands), true).second) continue;
      const ir::ScanShape s = ir::ScanShape::of(n);
      const ir::Shape& seq = g.node(n.operands[static_cast<std::size_t>(s.carries)]).type.shape;
      const std::int64_t trips = extent(seq[static_cast<std::size_t>(s.axis)], b);
      addGraph(*n.body, b, runs * trips, fmt::format("{}%{}/", prefix, n.id), count);
      continue;
    }
    if (!isProduct(n.op) && !isConvolution(n.op)) continue;
    const std::int64_t once = nodeFlops(g, n, b);
    count.products.push_back({fmt::format("{}%{}", prefix, n.id), n.op, dimsText(g, n, b), runs, once * runs});
    count.total += once * runs;
  }
}

}  // namespace

std::int64_t nodeFlops(const ir::Graph& g, const ir::Node& n, const Bindings& b) {
  if (isProduct(n.op)) {
    const ProductDims p = productDims(g, n, b);
    return 2 * p.batch * p.m * p.k * p.n;
  }
  if (isConvolution(n.op)) {
    const ConvDims c = convDims(g, n, b);
    return 2 * c.images * c.filters * c.oh * c.ow * c.channels * c.kh * c.kw;
  }
  return 0;
}

FlopCount countFlops(const ir::Graph& g, const Bindings& b) {
  FlopCount count;
  addGraph(g, b, 1, "", count);
  return count;
}

}  // namespace sinter::lower
