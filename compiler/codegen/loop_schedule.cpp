// The schedule of every kernel kind: how a kernel of the kernel program becomes a loop nest (loop_ir.h).
// Elementwise kernels are element computations under loops that LLVM vectorizes; matrix products are
// register tiles under cache blocks, with B packed for the large and transposed cases; convolutions are
// im2col and the same product; the other kinds are a primitive per node, their own loops inside.
#include <fmt/format.h>
#include <algorithm>
#include <optional>
#include <stdexcept>

#include "compiler/codegen/emit_kernels.h"
#include "compiler/codegen/kernel_emitter.h"
#include "compiler/codegen/kernel_plan.h"
#include "compiler/codegen/reduction_axes.h"

namespace sinter::codegen {

using loop::Access;
using loop::Buffer;
using loop::Expr;
using loop::Loop;
using loop::Prim;
using loop::Product;
using loop::Stmt;

namespace {

// Cache blocks of a packed product: a K block of B strips (kKc x 2 vectors of f32, 32 KiB with 16 lanes) is
// what one register tile streams, and stays in L1 while the tile walks down the chunk's rows; an N block
// bounds the packed panel (kKc x kNc f32, 512 KiB) to half of L2.
constexpr std::int64_t kKc = 256;
constexpr std::int64_t kNc = 512;

std::vector<Expr> strides(const ir::Shape& s) {
  std::vector<Expr> st(s.size(), 1);
  for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * Expr::dim(s[i]);
  return st;
}

// The strides of `operand` read as if broadcast to `shape` (0 along broadcast axes).
std::vector<Expr> broadcastStrides(const ir::Shape& operand, const ir::Shape& shape) {
  std::vector<Expr> own = strides(operand), out(shape.size(), 0);
  const std::size_t lead = shape.size() - operand.size();
  for (std::size_t d = 0; d < operand.size(); ++d)
    if (operand[d].isSymbolic() || operand[d].size != 1) out[lead + d] = own[d];
  return out;
}

Loop makeLoop(const std::string& var, Expr begin, Expr end, std::int64_t step = 1, Loop::Kind kind = Loop::Serial,
              const std::string& role = "") {
  Loop l;
  l.var = var;
  l.begin = std::move(begin);
  l.end = std::move(end);
  l.step = step;
  l.kind = kind;
  l.role = role;
  return l;
}

// Whether LLVM can vectorize an element computation of these ops: f32 math is inline (vector_math.cpp),
// but f64's transcendental functions and pow are libm calls (the op table's kTranscendental), which keep a
// loop scalar, as does integer division, which no x86 vector unit has. Only loops that vectorize are
// marked so: a forced vectorization that fails is a compiler warning.
bool vectorizes(const ir::Graph& g, const std::vector<ir::NodeId>& ops) {
  return std::none_of(ops.begin(), ops.end(), [&](ir::NodeId id) {
    const ir::Node& n = g.node(id);
    const bool libm =
        (ir::opDef(n.op).flags & ir::kTranscendental) && (n.type.dtype == ir::DType::F64 || n.op == ir::Op::Pow);
    return libm || (n.op == ir::Op::Div && !ir::isFloat(n.type.dtype));
  });
}

// A value an element computation reads: `value` itself, or for a slice, the sliced node `from` at the
// slice's elements (offset and strides in `from`), so that no copy of the slice is made.
struct Load {
  ir::NodeId value, from;
  Expr offset;
  std::vector<Expr> strides;  // per axis of the computation's shape
};

Load plainLoad(const ir::Graph& g, ir::NodeId id, const ir::Shape& shape) {
  return {id, id, 0, broadcastStrides(g.node(id).type.shape, shape)};
}

Load sliceLoad(const ir::Graph& g, const ir::Node& s) {
  const ir::Node& from = g.node(s.operands[0]);
  const std::size_t axis = static_cast<std::size_t>(s.attrs.getInt("axis"));
  std::vector<Expr> st = strides(from.type.shape);
  const Expr offset = Expr(s.attrs.getInt("start")) * st[axis];
  st[axis] = st[axis] * Expr(s.attrs.getInt("step"));
  return {s.id, from.id, offset, st};
}

// Elementwise ops at every element of `shape`: `stored` members written at their own strides, the other
// operands (`loads`, including any already computed member such as a GEMM's product) read through
// broadcast strides or a slice's. Adjacent axes that every access walks contiguously merge into one loop,
// so that the innermost loop, which LLVM vectorizes, is as long as it can be. `rowRange` limits the axis
// before the last to [first, second) (a GEMM epilogue's rows), and `lead`, when given, holds the index of
// each axis before it (a batched GEMM's epilogue runs a batch at a time).
std::vector<Stmt> elementwiseNest(const ir::Graph& g, const std::vector<ir::NodeId>& ops,
                                  const std::vector<ir::NodeId>& stored, const std::vector<Load>& loads,
                                  const ir::Shape& shape, int lanes, const std::pair<Expr, Expr>* rowRange = nullptr,
                                  const std::vector<Expr>& lead = {}) {
  std::vector<Expr> ext;
  for (const ir::Dim& d : shape) ext.push_back(Expr::dim(d));
  std::vector<Expr> begin(shape.size(), 0), end = ext;
  std::vector<std::vector<Expr>> sets;  // per access (stores, then loads): its stride per axis
  for (ir::NodeId id : stored) sets.push_back(strides(g.node(id).type.shape));
  for (const Load& l : loads) sets.push_back(l.strides);
  const std::size_t rowAxis = shape.size() >= 2 ? shape.size() - 2 : 0;
  if (rowRange) {
    begin[rowAxis] = rowRange->first;
    end[rowAxis] = rowRange->second;
  }
  // Merge axis d+1 into d while every access is contiguous across them (never the epilogue's row axis, nor
  // an axis held at one index).
  for (std::size_t d = ext.size(); d-- > 1;) {
    if (rowRange && (d == rowAxis || d - 1 == rowAxis)) continue;
    if (d - 1 < lead.size()) continue;
    const bool contiguous = std::all_of(sets.begin(), sets.end(), [&](const std::vector<Expr>& s) {
      return (s[d - 1].isConst(0) && s[d].isConst(0)) || s[d - 1].str() == (s[d] * ext[d]).str();
    });
    if (!contiguous) continue;
    ext[d - 1] = ext[d - 1] * ext[d];
    end[d - 1] = ext[d - 1];
    ext.erase(ext.begin() + static_cast<std::ptrdiff_t>(d));
    end.erase(end.begin() + static_cast<std::ptrdiff_t>(d));
    begin.erase(begin.begin() + static_cast<std::ptrdiff_t>(d));
    for (auto& s : sets) s.erase(s.begin() + static_cast<std::ptrdiff_t>(d - 1));
  }
  loop::Compute c;
  c.ops = ops;
  std::vector<Expr> index(sets.size(), 0);
  for (std::size_t s = 0; s < loads.size(); ++s) index[stored.size() + s] = loads[s].offset;
  for (std::size_t d = 0; d < ext.size(); ++d) {
    const Expr at = d < lead.size() ? lead[d] : Expr::var("e" + std::to_string(d));
    for (std::size_t s = 0; s < sets.size(); ++s) index[s] = index[s] + at * sets[s][d];
  }
  for (std::size_t s = 0; s < stored.size(); ++s) c.stores.push_back({stored[s], {Buffer::of(stored[s]), index[s]}});
  for (std::size_t s = 0; s < loads.size(); ++s)
    c.loads.push_back({loads[s].value, {Buffer::of(loads[s].from), index[stored.size() + s]}});
  std::vector<Stmt> body = {Stmt::of(std::move(c))};
  const int width = lanes * 4 / static_cast<int>(ir::dtypeSize(g.node(ops.back()).type.dtype));
  for (std::size_t d = ext.size(); d-- > lead.size();) {
    // The innermost loop vectorizes unless it is known to be shorter than a vector: LLVM cannot honour a
    // forced width there (it warns "loop not vectorized"), and a loop of 2 or 3 is unrolled anyway, as in
    // the broadcast of nearest-neighbour upsampling.
    const Expr trip = end[d] - begin[d];
    const bool shortLoop = trip.isConst() && trip.value < width;
    const bool inner = d + 1 == ext.size() && vectorizes(g, ops) && !shortLoop;
    Loop l = makeLoop("e" + std::to_string(d), begin[d], end[d], 1, inner ? Loop::Vector : Loop::Serial);
    if (inner) l.width = width;
    l.body = std::move(body);
    body = {Stmt::of(std::move(l))};
  }
  return body;
}

// An elementwise kernel's nest split over the runtime's threads: its outer loop runs in chunks, or, when
// the whole nest is one vector loop, blocks of kElementBlock elements do (whole vectors, and chunks long
// enough to stream). Each element is computed alone, so the chunks change no bits; the runtime keeps small
// kernels on the calling thread (the work is the elements times the ops of the chain). Without it, the
// elementwise kernels of a step (bias + ReLU, its gradient, the gate math of a recurrent cell) ran on
// one thread while the other waited: a seventh of the CNN's step at batch 256.
constexpr std::int64_t kElementBlock = 1024;

std::vector<Stmt> parallelElementwise(std::vector<Stmt> nest, const ir::Shape& shape, std::size_t ops) {
  if (nest.size() != 1 || nest.front().kind != Stmt::LoopStmt) return nest;
  Loop outer = std::move(nest.front().loop);
  if (!outer.begin.isConst(0)) return {Stmt::of(std::move(outer))};
  const bool blocks = outer.kind == Loop::Vector;
  const Expr extent = outer.end;
  Loop par = makeLoop("ib", 0, blocks ? ceilDiv(extent, kElementBlock) : extent, 1, Loop::Parallel,
                      blocks ? fmt::format("blocks of {} elements", kElementBlock) : "outer elements");
  par.work = loop::numel(shape) * Expr(static_cast<std::int64_t>(ops));
  const Expr ib = Expr::var("ib"), ibEnd = Expr::var("ib.end");
  outer.begin = blocks ? ib * Expr(kElementBlock) : ib;
  outer.end = blocks ? min(ibEnd * Expr(kElementBlock), extent) : ibEnd;
  par.body.push_back(Stmt::of(std::move(outer)));
  return {Stmt::of(std::move(par))};
}

// The operands of fused elementwise members from outside the group, each once.
std::vector<ir::NodeId> outsideOperands(const ir::Graph& g, const std::vector<ir::NodeId>& ops) {
  std::vector<ir::NodeId> out;
  for (ir::NodeId id : ops)
    for (ir::NodeId o : g.node(id).operands)
      if (std::find(ops.begin(), ops.end(), o) == ops.end() && std::find(out.begin(), out.end(), o) == out.end())
        out.push_back(o);
  return out;
}

// The elementwise members of a GEMM's or a convolution's epilogue group over part of the product's output,
// which the product has just written there (the members after the first read it back while it is in
// cache): `rowRange` and `lead` as in elementwiseNest. The members the group stores are written.
std::vector<Stmt> epilogueNest(const ir::Graph& g, const ir::FusionGroup& epilogue,
                               const std::pair<Expr, Expr>* rowRange, const std::vector<Expr>& lead, int lanes) {
  const ir::Node& n = g.node(epilogue.nodes.front());
  const ir::Shape& s = n.type.shape;
  std::vector<ir::NodeId> ops(epilogue.nodes.begin() + 1, epilogue.nodes.end()), stored;
  for (ir::NodeId id : ops)
    if (epilogue.stores(id)) stored.push_back(id);
  std::vector<Load> loads = {plainLoad(g, n.id, s)};
  for (ir::NodeId o : outsideOperands(g, ops))
    if (o != n.id) loads.push_back(plainLoad(g, o, s));
  return elementwiseNest(g, ops, stored, loads, s, lanes, rowRange, lead);
}

// A loop over [0, extent) in blocks of `block`, or none when one block covers it (then `var` is 0).
// Returns the statements to fill and the block's start.
struct Blocked {
  std::vector<Stmt>* body;
  Expr start;
};
Blocked blockLoop(std::vector<Stmt>& out, const std::string& var, const Expr& extent, std::int64_t block,
                  const std::string& role) {
  if (extent.isConst() && extent.value <= block) return {&out, 0};
  out.push_back(Stmt::of(makeLoop(var, 0, extent, block, Loop::Serial, role)));
  return {&out.back().loop.body, Expr::var(var)};
}

template <class Tiles>
void packedNest(std::vector<Stmt>& out, const Product& p, const std::string& panel, int cols, Tiles& tiles, bool once,
                int lanes);
void oneRowNest(std::vector<Stmt>& out, const Product& p, const Expr& r0, const Expr& r1, int lanes);

// Rows [r0, r1) of one 2-D product, f32: register tiles of kGemmRows x (2 vectors), j outer and i inner so
// that one strip of B serves every row tile of the chunk. Large or transposed B is packed per cache
// block into `panel` (declared by the caller), or with `once`, read from `panel` where the loop around the
// kernel packed all of B before its first step (packOnceNest); small B is read in place.
void productNest(std::vector<Stmt>& out, const Product& p, const Expr& r0, const Expr& r1, bool pack,
                 const std::string& panel, int lanes, bool once = false) {
  const int cols = 2 * lanes;
  // Rows [r0, rt) run tiles of kGemmRows rows (the last one clamped), rows [rt, r1) one-row tiles. With the
  // rows known, rt leaves to one-row tiles only the one or two rows past the whole tiles (a clamped tile
  // would recompute a row five or four times). With rows known only at run time, a packed product (two
  // tiles or more) runs clamped tiles only and a small one (inference at batch 1) one-row tiles only, so
  // that each form has one micro-kernel.
  const bool rowsKnown = (r1 - r0).isConst();
  Expr rTiles = r1;
  if (rowsKnown) {
    const Expr rFull = r0 + floorDiv(r1 - r0, kGemmRows) * Expr(kGemmRows);
    rTiles = select(r1 - rFull, 3, r1, rFull);
  }
  auto tiles = [&](std::vector<Stmt>& into, const Expr& jBegin, const Expr& jEnd, const Expr& k0, const Expr& kc,
                   const std::string& from, const Expr& at) {
    // The rows: whole tiles of kGemmRows; then, when 3 or more rows are left, one more tile with its last
    // rows clamped (it recomputes the last row), else a one-row tile per row left (a single row, at batch
    // 1, would otherwise cost a whole tile's FMAs).
    auto rowsOf = [&](const Expr& j, int width) {
      auto kernel = [&](int rows) {
        Prim mk{Prim::MicroKernel};
        mk.product = p;
        mk.panel = from;
        mk.panelAt = at;
        mk.i = Expr::var("i");
        mk.j0 = j;
        mk.j1 = jBegin;  // the packed panel's first column
        mk.k0 = k0;
        mk.kc = kc;
        mk.rowEnd = r1;
        mk.rows = rows;
        mk.cols = width;
        mk.stripCols = cols;
        mk.lanes = lanes;
        return Stmt::of(std::move(mk));
      };
      std::vector<Stmt> loops;
      if (rTiles.str() != r0.str()) {
        Loop il = makeLoop("i", r0, rTiles, kGemmRows, Loop::Serial, "register tile rows");
        il.body.push_back(kernel(kGemmRows));
        loops.push_back(Stmt::of(std::move(il)));
      }
      if (rTiles.str() != r1.str() && !from.empty()) {  // B read in place: oneRowNest below
        Loop one = makeLoop("i", rTiles, r1, 1, Loop::Serial, "one-row tiles");
        one.body.push_back(kernel(1));
        loops.push_back(Stmt::of(std::move(one)));
      }
      return loops;
    };
    // When the last columns (N is known) fit one vector, they get a tile one vector wide: N = 10 or 100
    // would otherwise run half or more of their last tile's FMAs on masked-off lanes.
    const std::int64_t rest = jEnd.isConst() ? jEnd.value % cols : 0;
    const bool narrowTail = jBegin.isConst(0) && rest > 0 && rest <= lanes;
    const Expr jMain = narrowTail ? Expr(jEnd.value - rest) : jEnd;
    if (!jMain.isConst(0) || !narrowTail) {
      Loop jl = makeLoop("j", jBegin, jMain, cols, Loop::Serial, "register tile columns");
      jl.body = rowsOf(Expr::var("j"), cols);
      into.push_back(Stmt::of(std::move(jl)));
    }
    if (narrowTail)
      for (Stmt& st : rowsOf(jMain, lanes)) into.push_back(std::move(st));
    if (from.empty() && rTiles.str() != r1.str()) oneRowNest(into, p, rTiles, r1, lanes);
  };
  // With rows known only at run time, a chunk of few rows (inference at batch 1) reads B in place, one row
  // at a time: packing B would cost as much as the product.
  if (!rowsKnown && !p.transB) {
    loop::If small;
    small.lhs = r1 - r0;
    small.rhs = std::int64_t{2} * kGemmRows;
    small.role = "rows of the chunk: two tiles or more";
    if (pack) packedNest(small.then, p, panel, cols, tiles, once, lanes);
    else tiles(small.then, 0, p.N, 0, p.K, "", 0);
    oneRowNest(small.otherwise, p, r0, r1, lanes);
    out.push_back(Stmt::of(std::move(small)));
    return;
  }
  if (!pack) return tiles(out, 0, p.N, 0, p.K, "", 0);
  packedNest(out, p, panel, cols, tiles, once, lanes);
}

// Rows [r0, r1) one at a time, B read in place: a row of C is a vector-matrix product, so its tile is one
// row by as many vectors as registers allow (16 of 32 with AVX-512, 8 of 16 otherwise), and each k streams
// a contiguous run of B's row k. Independent accumulators keep the FMA units busy; a tile one row by two
// vectors would wait on FMA latency, and walk B's columns a long stride apart.
void oneRowNest(std::vector<Stmt>& out, const Product& p, const Expr& r0, const Expr& r1, int lanes) {
  int vectors = lanes >= 16 ? 16 : 8;
  if (p.N.isConst()) vectors = static_cast<int>(std::min<std::int64_t>(vectors, (p.N.value + lanes - 1) / lanes));
  const int width = vectors * lanes;
  Loop il = makeLoop("i", r0, r1, 1, Loop::Serial, "rows one at a time");
  Loop jl = makeLoop("j", 0, p.N, width, Loop::Serial, fmt::format("one-row tiles of {} columns", width));
  Prim mk{Prim::MicroKernel};
  mk.product = p;
  mk.i = Expr::var("i");
  mk.j0 = Expr::var("j");
  mk.j1 = 0;
  mk.k0 = 0;
  mk.kc = p.K;
  mk.rowEnd = r1;
  mk.rows = 1;
  mk.cols = width;
  mk.stripCols = width;
  mk.lanes = lanes;
  jl.body.push_back(Stmt::of(std::move(mk)));
  il.body.push_back(Stmt::of(std::move(jl)));
  out.push_back(Stmt::of(std::move(il)));
}

// B packed whole (packOnceNest) holds the block panels one after the other, in the order the product reads
// them (N blocks outer, K blocks inner), each laid out as a panel of one block (strips of `cols` columns,
// kc rounded up to whole vectors): K blocks before pc hold kKc rows each, N blocks before jc kNc columns.
Expr packedRows(const Product& p, int lanes) { return ceilDiv(p.K, lanes) * Expr(lanes); }
Expr packedCols(const Product& p, int lanes) { return ceilDiv(p.N, 2 * lanes) * Expr(2 * lanes); }
Expr blockAt(const Product& p, const Expr& jc, const Expr& pc, int lanes) {
  return jc * packedRows(p, lanes) + pc * min(packedCols(p, lanes) - jc, kNc);
}

// The packed form of a product: cache blocks over N and K, B packed per block (or, with `once`, already
// packed whole), then the register tiles.
template <class Tiles>
void packedNest(std::vector<Stmt>& out, const Product& p, const std::string& panel, int cols, Tiles& tiles, bool once,
                int lanes) {
  Blocked nb = blockLoop(out, "jc", p.N, kNc, "cache block over N");
  Blocked kb = blockLoop(*nb.body, "pc", p.K, kKc, "cache block over K");
  const Expr nc = min(p.N - nb.start, kNc), kc = min(p.K - kb.start, kKc);
  if (!once) {
    Prim pk{Prim::PackB};
    pk.product = p;
    pk.panel = panel;
    pk.j0 = nb.start;
    pk.j1 = nb.start + nc;
    pk.k0 = kb.start;
    pk.kc = kc;
    pk.cols = cols;
    kb.body->push_back(Stmt::of(std::move(pk)));
  }
  tiles(*kb.body, nb.start, nb.start + nc, kb.start, kc, panel, once ? blockAt(p, nb.start, kb.start, lanes) : 0);
}

// Whether a product packs B: always when B is read transposed (the panel is the transpose, made a block at
// a time), and when B is large enough that its rows, a long stride apart, would not stay in L1, unless A has
// so few rows that B is streamed only once or twice anyway.
bool packs(const Product& p, int lanes) {
  if (p.transB) return true;
  // A product of two row tiles or fewer reads each strip of B once or twice: a copy would not pay for itself.
  if (p.M.isConst() && p.M.value <= std::int64_t{2} * kGemmRows) return false;
  if (!p.N.isConst() || !p.K.isConst()) return true;
  return p.N.value > std::int64_t{2} * lanes && p.N.value * p.K.value >= 16384;
}

loop::Scratch panelScratch(const Product& p, int lanes) {
  const std::int64_t cols = std::int64_t{2} * lanes;
  // K rounded up to whole vectors: a transposed pack writes whole square blocks (see emit_loops.cpp).
  return {"panel", ceilDiv(min(p.K, kKc), lanes) * Expr(lanes) * min(ceilDiv(p.N, cols) * Expr(cols), kNc)};
}

// matmul, matmul_tn, matmul_nt (batched over leading axes), with an epilogue or the bias gradient's
// column sums: threads split the row blocks; each chunk runs its products, then its epilogue rows. With
// `summedInto`, a matmul_tn's products over its batch axes are summed into that node: one product whose K
// runs over the rows of every batch, which lie one after the other in both operands.
std::vector<Stmt> gemmNest(const ir::Graph& g, const ir::Node& n, const ir::FusionGroup* epilogue,
                           const ir::Node* columnSums, int lanes, const std::vector<ir::NodeId>& invariant,
                           const ir::Node* summedInto = nullptr) {
  const bool transA = n.op == ir::Op::MatMulTN, transB = n.op == ir::Op::MatMulNT;
  const ir::Node& A = g.node(n.operands[0]);
  const ir::Node& B = g.node(n.operands[1]);
  const ir::Shape& s = n.type.shape;
  const std::size_t r = s.size(), ra = A.type.shape.size();
  const ir::Shape batch = summedInto ? ir::Shape{} : ir::Shape(s.begin(), s.end() - 2);
  const Expr M = Expr::dim(s[r - 2]), N = Expr::dim(s[r - 1]);
  Expr K = Expr::dim(transA ? A.type.shape[ra - 2] : A.type.shape[ra - 1]);
  if (summedInto) K = loop::numel(ir::Shape(s.begin(), s.end() - 2)) * K;
  const Expr blocks = ceilDiv(M, kGemmRows);
  Loop par = makeLoop("ib", 0, blocks, 1, Loop::Parallel, fmt::format("blocks of {} rows of C", kGemmRows));
  par.work = loop::numel(batch) * M * N * K;
  // The chunk's rows of C: [r0, r1).
  const Expr r0 = loop::named(par.body, "r0", Expr::var("ib") * Expr(kGemmRows));
  const Expr r1 = loop::named(par.body, "r1", min(Expr::var("ib.end") * Expr(kGemmRows), M));

  Product p;
  p.M = M;
  p.N = N;
  p.K = K;
  p.transA = transA;
  p.transB = transB;
  p.a.buffer = Buffer::of(A.id);
  p.b.buffer = Buffer::of(B.id);
  p.c.buffer = Buffer::of(summedInto ? summedInto->id : n.id);
  // Batch axes: one product per index of the result's leading axes, operands broadcast.
  std::vector<Stmt>* body = &par.body;
  auto lead = [&](const ir::Node& x) {
    return summedInto ? ir::Shape{} : ir::Shape(x.type.shape.begin(), x.type.shape.end() - 2);
  };
  const auto sa = broadcastStrides(lead(A), batch);
  const auto sb = broadcastStrides(lead(B), batch);
  const auto sc = strides(batch);
  for (std::size_t d = 0; d < batch.size(); ++d) {
    const Expr v = Expr::var("b" + std::to_string(d));
    p.a.index = p.a.index + v * sa[d] * M * K;
    p.b.index = p.b.index + v * sb[d] * K * N;
    p.c.index = p.c.index + v * sc[d] * M * N;
    body->push_back(Stmt::of(makeLoop("b" + std::to_string(d), 0, Expr::dim(batch[d]), 1, Loop::Serial, "batch")));
    body = &body->back().loop.body;
  }
  // An epilogue that is only `add(acc, product)`, where nothing else reads the product (a weight gradient
  // summed over time steps, or a bias): the product is computed into the add's buffer, starting from acc
  // (from the bias row, in every row). A bias added after the product cost a pass over C, from L3 for the
  // LSTM's input product of all 28 steps.
  const ir::Node* addTo = epilogue ? productAddedTo(g, *epilogue) : nullptr;
  if (addTo) {
    const ir::NodeId acc = addTo->operands[0] == n.id ? addTo->operands[1] : addTo->operands[0];
    p.c.buffer = Buffer::of(addTo->id);
    p.addTo = true;
    p.initRow = !(g.node(acc).type == n.type);
    p.init = {Buffer::of(acc), p.initRow ? Expr(0) : p.c.index};
  }
  if (n.type.dtype != ir::DType::F32) {
    Prim naive{Prim::Node};
    naive.nodes = {n.id};
    naive.product = p;
    naive.j0 = r0;
    naive.j1 = r1;
    naive.what = "rows of C by plain loops (f64)";
    body->push_back(Stmt::of(std::move(naive)));
  } else {
    const bool pack = packs(p, lanes);
    // B that a loop body's steps all read (wh of a recurrent cell) is packed once, before the loop: one
    // panel for all steps and threads, instead of one per chunk and step.
    const bool once =
        pack && p.b.index.isConst(0) && std::find(invariant.begin(), invariant.end(), B.id) != invariant.end();
    if (pack && !once) par.scratch.push_back(panelScratch(p, lanes));
    productNest(*body, p, r0, r1, pack, once ? packedOnceName(B.id, transB) : "panel", lanes, once);
  }
  if (epilogue && !addTo) {
    // The epilogue runs after each batch's product, while its rows are still in cache: after the whole
    // batch (the LSTM's input product of all 28 steps, 3.7 MB at batch 64), it read them back from L3.
    const std::pair<Expr, Expr> rows{r0, r1};
    std::vector<Expr> batchAt;
    for (std::size_t d = 0; d < batch.size(); ++d) batchAt.push_back(Expr::var("b" + std::to_string(d)));
    for (Stmt& st : epilogueNest(g, *epilogue, &rows, batchAt, lanes)) body->push_back(std::move(st));
  }
  if (columnSums) {
    Prim sums{Prim::ColumnSums};
    sums.nodes = {columnSums->id};
    const Expr cols = Expr::dim(g.node(columnSums->operands[0]).type.shape[1]);
    sums.j0 = cols * Expr::var("ib") / blocks;
    sums.j1 = cols * Expr::var("ib.end") / blocks;
    par.body.push_back(Stmt::of(std::move(sums)));
  }
  return {Stmt::of(std::move(par))};
}

std::int64_t attr(const ir::Node& n, const char* name, int i) {
  return n.attrs.getInts(name)[static_cast<std::size_t>(i)];
}

// f32 convolutions as im2col and the product, per image (conv2d_grad_weight: per chunk of input or output
// channels, over every image in order, so that each weight's sum keeps one order for any thread count):
//   conv2d:             y[n] = W[O, CKK] col                     parallel over images
//   conv2d_grad_input:  col = Wᵀ dy[n], then col2im into dx[n]   parallel over images
//                       (at stride 1 on small images, directly: directConvInput, kernels_conv_input.cpp)
//   conv2d_grad_weight: dW += dy[n] colᵀ                         parallel over input (or output) channels
// except, with few taps at stride 1, conv2d and the weight gradient, computed directly (no im2col), and a
// conv2d at stride 1 without padding with 8 or more output channels, in their lanes (channelConv), and such
// a weight gradient, also with the output channels in the lanes (channelConvWeights: per input channel). A
// conv2d with an `epilogue` (a ConvEpilogue group: bias, activation) runs the group's elementwise members
// on each image's output right after the image's convolution, while that output is in cache.
std::vector<Stmt> convNest(const ir::Graph& g, const ir::Node& n, const ir::FusionGroup* epilogue, int lanes) {
  const ir::Node& a = g.node(n.operands[0]);
  const ir::Node& b = g.node(n.operands[1]);
  const ir::TensorType& x = n.op == ir::Op::Conv2DGradInput ? n.type : a.type;
  const ir::TensorType& w = n.op == ir::Op::Conv2DGradWeight ? n.type : b.type;
  const ir::TensorType& y = n.op == ir::Op::Conv2D ? n.type : n.op == ir::Op::Conv2DGradInput ? a.type : b.type;
  const std::int64_t O = w.shape[0].size, CKK = w.shape[1].size * w.shape[2].size * w.shape[3].size,
                     P = y.shape[2].size * y.shape[3].size;
  const Expr images = Expr::dim(x.shape[0]);
  const bool weights = n.op == ir::Op::Conv2DGradWeight;
  if (epilogue && n.op != ir::Op::Conv2D) throw std::logic_error("codegen: an epilogue follows a conv2d only");
  // The weight gradient by im2col and the product splits its input channels: each chunk builds only its
  // channels' rows of the patches and computes those columns of dw. Split over output channels, every chunk
  // built every image's patches, and a second thread doubled that work and gained nothing. Each element of dw
  // is still summed whole, images then positions in order, so the bits do not depend on the threads.
  const std::int64_t C = x.shape[1].size, KK = w.shape[2].size * w.shape[3].size;
  // (A single input channel, which cannot be split, keeps the output channels' split.)
  // The weight gradient with the output channels in the lanes (channelConvWeights) splits its input channels
  // too, even a single one.
  const bool lanesOverO = weights && n.type.dtype == ir::DType::F32 && channelConvWeights(g, n);
  const bool byInputChannels = lanesOverO || (weights && n.type.dtype == ir::DType::F32 && !directConv(g, n) && C >= 2);
  Loop par = makeLoop("ib", 0,
                      byInputChannels ? Expr(C)
                      : weights       ? Expr(O)
                                      : images,
                      1, Loop::Parallel,
                      byInputChannels ? "input channels"
                      : weights       ? "output channels"
                                      : "images");
  par.work = loop::numel(y.shape) * Expr(CKK);
  const Expr img = Expr::var("n");
  auto imagesLoop = [&](const std::string& role) {
    return makeLoop("n", weights ? Expr(0) : Expr::var("ib"), weights ? images : Expr::var("ib.end"), 1, Loop::Serial,
                    role);
  };
  // The epilogue on image n's output.
  auto epilogueOf = [&](std::vector<Stmt>& into) {
    for (Stmt& st : epilogueNest(g, *epilogue, nullptr, {img}, lanes)) into.push_back(std::move(st));
  };
  // The nest of a convolution computed without im2col: one primitive over the parallel loop's range (with
  // its epilogue on the register tiles, when it can), or one per image, each followed by the epilogue on
  // that image's output.
  auto direct = [&](Prim::Kind kind, std::string what) {
    Prim p{kind};
    p.nodes = {n.id};
    p.j0 = Expr::var("ib");
    p.j1 = Expr::var("ib.end");
    p.what = std::move(what);
    if (kind == Prim::DirectConvWeights) {
      par.scratch.push_back({"sums", Expr(O * CKK * lanes)});
      p.i = images;
      p.buffer = Buffer::named("sums");
    }
    if (kind == Prim::ChannelConvWeights) {  // one image's dy transposed, then the chunk's lane-wise sums
      par.scratch.push_back({"lanes", Expr(channelConvWeightsScratch(g, n, lanes))});
      p.i = images;
      p.buffer = Buffer::named("lanes");
    }
    if (kind == Prim::ChannelConv) {  // the filters transposed once per chunk: per tap, a row of output channels
      const Expr stride(channelConvStride(O, lanes));
      par.scratch.push_back({"filters", Expr(CKK) * stride});
      Prim zero{Prim::Zero};
      zero.buffer = Buffer::named("filters");
      zero.j0 = Expr(0);
      zero.j1 = Expr(CKK) * stride;
      par.body.push_back(Stmt::of(std::move(zero)));
      Loop rows = makeLoop("o", 0, Expr(O), 1, Loop::Serial, "filters transposed: per tap a row of output channels");
      Loop taps = makeLoop("t", 0, Expr(CKK), 1, Loop::Serial, "taps");
      loop::Compute copy;
      copy.loads = {{b.id, {Buffer::of(b.id), Expr::var("o") * Expr(CKK) + Expr::var("t")}}};
      copy.stores = {{b.id, {Buffer::named("filters"), Expr::var("t") * stride + Expr::var("o")}}};
      taps.body.push_back(Stmt::of(std::move(copy)));
      rows.body.push_back(Stmt::of(std::move(taps)));
      par.body.push_back(Stmt::of(std::move(rows)));
      p.buffer = Buffer::named("filters");
    }
    if (epilogue && !convEpilogueInRegisters(g, *epilogue)) {
      p.j0 = img;
      p.j1 = img + Expr(1);
      Loop each = imagesLoop("images, each through the epilogue while its output is in cache");
      each.body.push_back(Stmt::of(std::move(p)));
      epilogueOf(each.body);
      par.body.push_back(Stmt::of(std::move(each)));
    } else {
      par.body.push_back(Stmt::of(std::move(p)));
    }
    return std::vector<Stmt>{Stmt::of(std::move(par))};
  };
  if (n.type.dtype != ir::DType::F32) return direct(Prim::Node, "direct loop nest (f64)");
  if (n.op == ir::Op::Conv2D && directConv(g, n))  // registers over the taps, no im2col (kernels_linalg.cpp)
    return direct(Prim::Node,
                  std::string("direct: tiles of output channels by 4 output rows, a vector wide, in registers over "
                              "the taps") +
                      (epilogue && convEpilogueInRegisters(g, *epilogue) ? ", then through the epilogue" : ""));
  if (channelConv(g, n))  // output channels in the lanes, no im2col (kernels_linalg.cpp)
    return direct(Prim::ChannelConv,
                  std::string("output channels in the lanes by a tile of output positions, in registers over the "
                              "taps, transposed into rows") +
                      (epilogue && convEpilogueInRegisters(g, *epilogue) ? ", then through the epilogue" : ""));
  if (directConv(g, n)) return direct(Prim::DirectConvWeights, "");  // a lane-wise sum per weight, no im2col
  if (lanesOverO)  // output channels in the lanes, no im2col (kernels_conv_weights.cpp)
    return direct(Prim::ChannelConvWeights,
                  "per image dy transposed to [position][output channel], then per input channel a tile of taps "
                  "by output channels in registers over the positions");
  if (directConvInput(g, n, lanes))  // dx's columns in the lanes, no product or col2im (kernels_conv_input.cpp)
    return direct(Prim::DirectConvInput,
                  "direct full correlation: tiles of input channels by rows of dx, a vector of its columns wide, "
                  "in registers over the taps and the output channels, the rows outside dy skipped");
  par.scratch.push_back({"col", Expr(CKK * P)});
  auto im2col = [&](const Expr& image) {
    Prim p{Prim::Im2Col};
    p.nodes = {n.id};
    p.i = image;
    p.buffer = Buffer::named("col");
    if (byInputChannels) {
      p.j0 = Expr::var("ib");
      p.j1 = Expr::var("ib.end");
    }
    return Stmt::of(std::move(p));
  };
  // The weight gradient's chunk: rows [r0, r1) of dw (output channels) by columns [c0, c1) (the taps of
  // input channels), which it zeroes before the images add into them.
  const Expr c0 = byInputChannels ? Expr::var("ib") * Expr(KK) : Expr(0);
  const Expr c1 = byInputChannels ? Expr::var("ib.end") * Expr(KK) : Expr(CKK);
  const Expr cols = byInputChannels ? (Expr::var("ib.end") - Expr::var("ib")) * Expr(KK) : Expr(CKK);
  const Expr r0 = weights && !byInputChannels ? Expr::var("ib") : Expr(0);
  const Expr r1 = weights && !byInputChannels ? Expr::var("ib.end") : Expr(O);
  Product p;
  if (n.op == ir::Op::Conv2D) {
    p = {{Buffer::of(b.id), 0},
         {Buffer::named("col"), 0},
         {Buffer::of(n.id), img * Expr(O * P)},
         O,
         P,
         CKK,
         false,
         false,
         false,
         false,
         {},
         0};
  } else if (n.op == ir::Op::Conv2DGradInput) {
    p = {{Buffer::of(b.id), 0},
         {Buffer::of(a.id), img * Expr(O * P)},
         {Buffer::named("col"), 0},
         CKK,
         P,
         O,
         true,
         false,
         false,
         false,
         {},
         0};
  } else {  // dw[rows, columns of the chunk] += dy[image] colᵀ over those rows of col
    p = {{Buffer::of(b.id), img * Expr(O * P)},
         {Buffer::named("col"), c0 * Expr(P)},
         {Buffer::of(n.id), c0},
         O,
         cols,
         P,
         false,
         true,
         true,
         false,
         {},
         byInputChannels ? Expr(CKK) : Expr(0)};
  }
  const bool pack = packs(p, lanes);
  if (pack) par.scratch.push_back(panelScratch(p, lanes));
  Loop each = imagesLoop(epilogue ? "images, each through the epilogue while its output is in cache" : "images");
  if (n.op == ir::Op::Conv2D) {
    each.body.push_back(im2col(img));
    productNest(each.body, p, 0, O, pack, "panel", lanes);
    if (epilogue) epilogueOf(each.body);
  } else if (n.op == ir::Op::Conv2DGradInput) {
    productNest(each.body, p, 0, CKK, pack, "panel", lanes);
    Prim back{Prim::Col2Im};
    back.nodes = {n.id};
    back.i = img;
    back.buffer = Buffer::named("col");
    each.body.push_back(Stmt::of(std::move(back)));
  } else {
    Prim zero{Prim::Zero};
    zero.buffer = Buffer::of(n.id);
    if (byInputChannels) {  // the chunk's columns of each row
      Loop rows = makeLoop("o", r0, r1, 1, Loop::Serial, "rows of dw: the chunk's columns start at zero");
      zero.j0 = Expr::var("o") * Expr(CKK) + c0;
      zero.j1 = Expr::var("o") * Expr(CKK) + c1;
      rows.body.push_back(Stmt::of(std::move(zero)));
      par.body.push_back(Stmt::of(std::move(rows)));
    } else {  // whole rows: one run
      zero.j0 = r0 * Expr(CKK);
      zero.j1 = r1 * Expr(CKK);
      par.body.push_back(Stmt::of(std::move(zero)));
    }
    each.body.push_back(im2col(img));
    productNest(each.body, p, r0, r1, pack, "panel", lanes);
  }
  par.body.push_back(Stmt::of(std::move(each)));
  return {Stmt::of(std::move(par))};
}

// A node whose kernel keeps its own loops (kernels_*.cpp), whole.
std::vector<Stmt> nodeKernel(const ir::Node& n, const std::string& what) {
  Prim p{Prim::Node};
  p.nodes = {n.id};
  p.what = what;
  return {Stmt::of(std::move(p))};
}

std::string dims(const ir::Shape& s) {
  std::string out;
  for (const ir::Dim& d : s) out += (out.empty() ? "" : ", ") + d.str();
  return "[" + out + "]";
}

}  // namespace

loop::Nest scheduleKernel(const ir::Graph& g, const ir::FusionGroup& k, const loop::Target& t) {
  const ir::Node& n = g.node(k.nodes.front());
  const ir::FusionGroup* fused = k.fused() ? &k : nullptr;
  auto find = [&](ir::Op op) -> const ir::Node* {
    for (ir::NodeId id : k.nodes)
      if (g.node(id).op == op) return &g.node(id);
    return nullptr;
  };
  loop::Nest nest;
  switch (k.kind) {
    case ir::KernelKind::None: break;  // arguments: never a kernel
    case ir::KernelKind::Loop: throw std::logic_error("codegen: a loop is not one kernel");
    case ir::KernelKind::Fill:
      if (n.op == ir::Op::Constant)
        nest.body = parallelElementwise(elementwiseNest(g, {n.id}, {n.id}, {}, n.type.shape, t.lanes), n.type.shape, 1);
      break;
    case ir::KernelKind::Elementwise: {
      std::vector<Load> loads;
      for (ir::NodeId o : n.operands) loads.push_back(plainLoad(g, o, n.type.shape));
      nest.body =
          parallelElementwise(elementwiseNest(g, {n.id}, {n.id}, loads, n.type.shape, t.lanes), n.type.shape, 1);
      break;
    }
    case ir::KernelKind::ElementwiseChain: {
      // Slice members are read in place: loads of the sliced node, not ops.
      const ir::Shape& shape = g.node(fused->nodes.back()).type.shape;
      std::vector<ir::NodeId> ops;
      for (ir::NodeId id : fused->nodes)
        if (g.node(id).op != ir::Op::Slice) ops.push_back(id);
      std::vector<Load> loads;
      for (ir::NodeId o : outsideOperands(g, ops)) {
        const bool member = std::find(fused->nodes.begin(), fused->nodes.end(), o) != fused->nodes.end();
        loads.push_back(member ? sliceLoad(g, g.node(o)) : plainLoad(g, o, shape));
      }
      nest.body = parallelElementwise(elementwiseNest(g, ops, fused->stored, loads, shape, t.lanes), shape, ops.size());
      break;
    }
    case ir::KernelKind::Gemm: nest.body = gemmNest(g, n, nullptr, nullptr, t.lanes, t.invariant); break;
    case ir::KernelKind::GemmEpilogue: nest.body = gemmNest(g, n, fused, nullptr, t.lanes, t.invariant); break;
    case ir::KernelKind::GemmBiasGradient:
      nest.body = gemmNest(g, *find(ir::Op::MatMulTN), nullptr, find(ir::Op::SumTo), t.lanes, t.invariant);
      break;
    case ir::KernelKind::GemmSummedBatches:
      nest.body = gemmNest(g, *find(ir::Op::MatMulTN), nullptr, nullptr, t.lanes, t.invariant, find(ir::Op::SumTo));
      break;
    case ir::KernelKind::Convolution: nest.body = convNest(g, n, nullptr, t.lanes); break;
    case ir::KernelKind::ConvEpilogue: nest.body = convNest(g, n, fused, t.lanes); break;
    case ir::KernelKind::Pooling: {
      const bool grad = n.op == ir::Op::MaxPool2DGrad || n.op == ir::Op::AvgPool2DGrad;
      const ir::Shape& xs = grad ? n.type.shape : g.node(n.operands[0]).type.shape;
      const ir::Shape& ys = grad ? g.node(n.operands[0]).type.shape : n.type.shape;
      Loop par = makeLoop("ib", 0, Expr::dim(xs[0]) * Expr::dim(xs[1]), 1, Loop::Parallel, "planes (image, channel)");
      par.work = loop::numel(ys) * Expr(attr(n, "kernel", 0) * attr(n, "kernel", 1));
      Prim p{Prim::Node};
      p.nodes = {n.id};
      p.j0 = Expr::var("ib");
      p.j1 = Expr::var("ib.end");
      p.what = grad ? "windows of each plane, gathered into its inputs" : "one window per output element";
      par.body.push_back(Stmt::of(std::move(p)));
      nest.body.push_back(Stmt::of(std::move(par)));
      break;
    }
    case ir::KernelKind::SoftmaxCrossEntropy: {
      const ir::Node* ce = find(ir::Op::CrossEntropy);
      nest.body = nodeKernel(*ce, fmt::format("rows of {}: max, sum of exponentials, then one pass for the loss{}{}",
                                              dims(g.node(ce->operands[0]).type.shape),
                                              find(ir::Op::CrossEntropyGrad) ? ", the gradient" : "",
                                              find(ir::Op::Softmax) ? ", the softmax" : ""));
      break;
    }
    case ir::KernelKind::CrossEntropy:
    case ir::KernelKind::Softmax:
      nest.body =
          nodeKernel(n, fmt::format("rows of {}: max, sum of exponentials, then one pass over the row",
                                    dims(g.node(n.operands[n.op == ir::Op::CrossEntropyGrad ? 1 : 0]).type.shape)));
      break;
    case ir::KernelKind::Reduction: {
      const ir::Node& x = g.node(n.operands[0]);
      const std::string what = fmt::format("loop nest over {}, sums in order", dims(x.type.shape));
      const std::optional<std::size_t> split = reductionSplit(n, x);
      if (!split) {
        nest.body = nodeKernel(n, what);
        break;
      }
      // Threads split the first kept axis (a bias gradient's channels or columns): each output is summed
      // whole, in the same order, by one chunk, so the bits do not depend on the threads. Serial, the CNN's
      // and the LSTM's bias gradients held the second core idle.
      const ReductionAxes r = reductionAxes(n, x);
      Loop par = makeLoop("ib", 0, Expr::dim(r.kept[*split]), 1, Loop::Parallel,
                          fmt::format("outputs along kept axis {} of {}", *split, dims(r.x)));
      par.work = loop::numel(x.type.shape);
      Prim p{Prim::Node};
      p.nodes = {n.id};
      p.j0 = Expr::var("ib");
      p.j1 = Expr::var("ib.end");
      p.what = what;
      par.body.push_back(Stmt::of(std::move(p)));
      nest.body.push_back(Stmt::of(std::move(par)));
      break;
    }
    case ir::KernelKind::Loss: nest.body = nodeKernel(n, "one pass over the rows"); break;
    case ir::KernelKind::Layout:
      nest.body = nodeKernel(n, fmt::format("copy loop nest over {}", dims(n.type.shape)));
      break;
    case ir::KernelKind::Gather: nest.body = nodeKernel(n, fmt::format("loop nest over {}", dims(n.type.shape))); break;
  }
  return nest;
}

std::string packedOnceName(ir::NodeId b, bool transposed) {
  return fmt::format("%{}{} packed", b, transposed ? "ᵀ" : "");
}

loop::Nest packOnceNest(const Product& p, const std::string& panel, int lanes) {
  loop::Nest nest;
  Blocked nb = blockLoop(nest.body, "jc", p.N, kNc, "cache block over N");
  Blocked kb = blockLoop(*nb.body, "pc", p.K, kKc, "cache block over K");
  Prim pk{Prim::PackB};
  pk.product = p;
  pk.panel = panel;
  pk.panelAt = blockAt(p, nb.start, kb.start, lanes);
  pk.j0 = nb.start;
  pk.j1 = nb.start + min(p.N - nb.start, kNc);
  pk.k0 = kb.start;
  pk.kc = min(p.K - kb.start, kKc);
  pk.cols = 2 * lanes;
  kb.body->push_back(Stmt::of(std::move(pk)));
  return nest;
}

namespace {
// Adds to `out` the panels packed once that the micro-kernels under `body` read, each once.
void panelsRead(const std::vector<Stmt>& body, std::vector<PackedOnce>& out, int lanes) {
  for (const Stmt& s : body) {
    if (s.kind == Stmt::LoopStmt) panelsRead(s.loop.body, out, lanes);
    if (s.kind == Stmt::IfStmt) {
      panelsRead(s.branch.then, out, lanes);
      panelsRead(s.branch.otherwise, out, lanes);
    }
    if (s.kind != Stmt::PrimStmt || s.prim.kind != Prim::MicroKernel) continue;
    const Prim& mk = s.prim;
    const Product& p = mk.product;
    if (mk.panel.empty() || mk.panel != packedOnceName(p.b.buffer.node, p.transB)) continue;
    if (std::none_of(out.begin(), out.end(), [&](const PackedOnce& o) { return o.panel == mk.panel; }))
      out.push_back({mk.panel, p, packedRows(p, lanes) * packedCols(p, lanes)});
  }
}
}  // namespace

std::vector<PackedOnce> packedOnce(const loop::Nest& nest, int lanes) {
  std::vector<PackedOnce> out;
  panelsRead(nest.body, out, lanes);
  return out;
}

std::vector<PackedOnce> packedOnce(const ir::Graph& body, const KernelProgram& program, const loop::Target& t) {
  std::vector<PackedOnce> out;
  for (const ir::FusionGroup& k : program.kernels)
    if (k.kind != ir::KernelKind::Loop) panelsRead(scheduleKernel(body, k, t).body, out, t.lanes);
  return out;
}

}  // namespace sinter::codegen
