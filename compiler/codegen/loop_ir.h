// The loop-level kernel IR: every kernel of the kernel program (kernel_plan.h) becomes a loop nest over
// buffers before it becomes LLVM IR. Loops carry what the code generator does with them (a parallel loop
// split over the runtime's threads, a loop LLVM must vectorize, a loop unrolled at emission, a cache
// block or register tile); leaves are element computations, named in terms of graph nodes, or primitives
// (a register-tiled micro-kernel, a packing copy, im2col, a row of softmax, ...). The schedule lives here,
// in data that `sinter dump --stage=kernel` prints and tests can read; emit_loops.cpp only follows it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace sinter::codegen::loop {

// An integer expression over constants, shape symbols (batch), loop variables and parameters of the
// kernel's function; folded as it is built, so that printed nests stay short.
struct Expr {
  enum Kind { Const, Sym, Var, Add, Mul, Min, CeilDiv, FloorDiv, Quot, Select } kind = Const;
  std::int64_t value = 0;  // Const; the divisor of CeilDiv and FloorDiv (Quot divides by its second arg)
  std::string name;        // Sym, Var
  std::vector<Expr> args;

  Expr() = default;
  Expr(std::int64_t v) : value(v) {}  // NOLINT: constants read as numbers
  static Expr sym(const std::string& s);
  static Expr var(const std::string& v);
  static Expr dim(const ir::Dim& d);  // a shape's extent: a constant or a symbol
  bool isConst() const { return kind == Const; }
  bool isConst(std::int64_t v) const { return kind == Const && value == v; }
  std::string str() const;
};
Expr operator+(const Expr& a, const Expr& b);
Expr operator-(const Expr& a, const Expr& b);
Expr operator*(const Expr& a, const Expr& b);
Expr min(const Expr& a, const Expr& b);
Expr ceilDiv(const Expr& a, std::int64_t d);
Expr floorDiv(const Expr& a, std::int64_t d);
Expr operator/(const Expr& a, const Expr& b);                             // floor division of non-negative values
Expr select(const Expr& a, const Expr& b, const Expr& x, const Expr& y);  // a >= b ? x : y
Expr numel(const ir::Shape& s);

// A buffer a leaf reads or writes: a node's memory, or a scratch buffer of the kernel.
struct Buffer {
  ir::NodeId node = -1;  // -1: scratch
  std::string scratch;   // its name, declared by an enclosing loop
  static Buffer of(ir::NodeId id) { return {id, ""}; }
  static Buffer named(const std::string& s) { return {-1, s}; }
  std::string str() const;
};

// Element `index` (counted in elements) of a buffer.
struct Access {
  Buffer buffer;
  Expr index;
};

// One 2-D matrix product C[M,N] (+)= op(A) op(B) on row-major buffers at element offsets, rows
// [rowBegin, rowEnd) only: what a GEMM leaf and a packing copy need to know of it.
struct Product {
  Access a, b, c;
  Expr M, N, K;
  bool transA = false, transB = false, accumulate = false;
  bool addTo = false;  // C = init + op(A) op(B): the first K block starts from `init` instead of zero
  Access init;
  Expr ldc;              // the row stride of C and init when C is a block of columns of a wider matrix; 0: N
  bool initRow = false;  // init is one row, added to every row of C (a bias)
};

struct Stmt;

// A scratch buffer of `floats` f32 values, allocated where the loop's body starts running (once per
// parallel chunk) and freed when it ends.
struct Scratch {
  std::string name;
  Expr floats;
};

struct Loop {
  enum Kind {
    Serial,
    Parallel,  // chunks of [begin, end) run by the runtime's threads; the body runs once per chunk, with
               // `var` bound to the chunk's first iteration and `var`.end to its end
    Vector,    // LLVM must vectorize it, `width` lanes (llvm.loop.vectorize metadata)
  };
  std::string var;
  Expr begin, end;
  std::int64_t step = 1;
  Kind kind = Serial;
  int width = 0;
  Expr work;         // Parallel: the multiply-adds of the whole loop (the runtime keeps small ones serial)
  std::string role;  // what the loop is for ("register tile rows", "cache block over K"), printed
  std::vector<Scratch> scratch;
  std::vector<Stmt> body;
};

// Elementwise ops of the graph computed at one element: `ops` in order (one node, a fused chain, or a
// GEMM's epilogue); every operand not among them is loaded from `loads`, every stored member written at
// `stores`. The formula of each op is the graph's (KernelEmitter::elementwiseValue).
struct Compute {
  std::vector<ir::NodeId> ops;
  std::vector<std::pair<ir::NodeId, Access>> loads;
  std::vector<std::pair<ir::NodeId, Access>> stores;
};

// A leaf the code generator emits from a fixed recipe.
struct Prim {
  enum Kind {
    MicroKernel,  // C[i .. i+rows, j .. j+cols] of `product` over k in [k0, k0 + kc), rows clamped to rowEnd - 1
                  // (a partial tile recomputes its last row), columns masked past N; B from `panel` when set
    PackB,        // panel <- op(B)[k0 .. k0+kc, j0 .. j0+nc] in strips of `cols` columns, zero past N
    ColumnSums,   // columns [j0, j1) of sum_to(dy) (nodes[0]), each summed over the rows in order
    Im2Col,       // col <- the patches of image `i` of a convolution (nodes[0]), the rows of input channels
                  // [j0, j1) (every channel when j1 is 0)
    Col2Im,       // dx[i] <- col added back into the image of a convolution's input gradient (nodes[0])
    // Output channels [j0, j1) of a small f32 conv2d_grad_weight (nodes[0]) over images [0, i), summed
    // lane-wise in `buffer` and reduced at the end, without im2col.
    DirectConvWeights,
    // Images [j0, j1) of an f32 conv2d (nodes[0]) with the output channels in the lanes, from its filters
    // transposed into `buffer` (emitChannelConv).
    ChannelConv,
    // Input channels [j0, j1) of an f32 conv2d_grad_weight (nodes[0]) over images [0, i) with the output
    // channels in the lanes, in the scratch `buffer` (emitChannelConvWeights).
    ChannelConvWeights,
    // Images [j0, j1) of an f32 conv2d_grad_input (nodes[0]) computed directly from dy and the filters
    // (emitDirectConvInput); `what` describes the tile.
    DirectConvInput,
    Zero,  // buffer[j0 .. j1) = 0
    Node,  // iterations [j0, j1) of a node's own kernel (kernels_*.cpp): reductions, softmax rows,
           // layout copies, pooling planes; `what` says what an iteration is
  };
  Kind kind = Node;
  std::vector<ir::NodeId> nodes;
  Product product;
  std::string panel;       // MicroKernel, PackB: the packed B ("" for a MicroKernel reading B in place)
  Expr panelAt;            // MicroKernel, PackB: where this block's panel starts in `panel` (elements): 0 for a
                           // panel of one block, the block's place for B packed whole, once per loop
  Expr i, j0, j1, k0, kc;  // MicroKernel: tile at (i, j0), k block [k0, k0 + kc); PackB: columns [j0, j1)
                           // and the k block; ColumnSums, Zero, Node: the range [j0, j1); Im2Col, Col2Im: image i
  Expr rowEnd;             // MicroKernel: rows past rowEnd - 1 are clamped to it
  int rows = 0, cols = 0;  // the register tile (MicroKernel) or strip width (PackB)
  int stripCols = 0;       // MicroKernel: the width of the packed panel's strips (cols, or wider for a narrow tile)
  int lanes = 0;           // MicroKernel: the target's f32 lanes; the tile is unrolled into rows x (cols / lanes)
                           // accumulators, printed unroll(rows x vectors)
  Buffer buffer;           // Zero, Im2Col, Col2Im, DirectConvWeights, ChannelConv, ChannelConvWeights
  std::string what;

  Prim() = default;
  explicit Prim(Kind k) : kind(k) {}
};

// `then` when lhs >= rhs at run time, else `otherwise` (a product with few rows reads B in place).
struct If {
  Expr lhs, rhs;
  std::vector<Stmt> then, otherwise;
  std::string role;
};

// `name` = value for the statements after it in the same body (a chunk's first and last row).
struct Let {
  std::string name;
  Expr value;
};

struct Stmt {
  enum Kind { LoopStmt, ComputeStmt, PrimStmt, IfStmt, LetStmt } kind;
  Loop loop;
  Compute compute;
  Prim prim;
  If branch;
  Let let;
  static Stmt of(Loop l) { return {LoopStmt, std::move(l), {}, {}, {}, {}}; }
  static Stmt of(Compute c) { return {ComputeStmt, {}, std::move(c), {}, {}, {}}; }
  static Stmt of(Prim p) { return {PrimStmt, {}, {}, std::move(p), {}, {}}; }
  static Stmt of(If i) { return {IfStmt, {}, {}, {}, std::move(i), {}}; }
  static Stmt of(Let l) { return {LetStmt, {}, {}, {}, {}, std::move(l)}; }
};

// `value` bound to `name` by a Let appended to `body`, or the value itself when it is a constant or a plain
// variable (nothing to name).
Expr named(std::vector<Stmt>& body, const std::string& name, const Expr& value);

// The nest of one kernel: its statements in order.
struct Nest {
  std::vector<Stmt> body;
};

// What a schedule depends on besides the kernel: the target, and for a loop body, its inputs that hold the same
// value at every step.
struct Target {
  int lanes = 16;  // f32 lanes of one vector register
  // Inputs of a loop body that its loop does not change (the closures): a product whose B is one of them and
  // would pack it reads it packed once per loop (packedOnceName) instead; the loop kernel packs it before its
  // first step (kernels_loop.cpp).
  std::vector<ir::NodeId> invariant;
};

// The nest as text, indented by `indent` spaces, node operands named %id.
std::string print(const ir::Graph& g, const Nest& nest, int indent);

}  // namespace sinter::codegen::loop
