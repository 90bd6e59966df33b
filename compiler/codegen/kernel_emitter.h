// The emitter of one generated function: buffers, loop nests, and the kernels of its kernel program (one per
// node or fused group). Its member functions are spread over kernels_*.cpp by op family, kernels_fused.cpp,
// parallel_loops.cpp and vector_math.cpp. Internal to compiler/codegen.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>
#include <sinter/model_abi.h>
#include <functional>
#include <map>

#include "compiler/codegen/emit_kernels.h"
#include "compiler/codegen/grad_buckets.h"
#include "compiler/codegen/kernel_plan.h"
#include "compiler/codegen/loop_ir.h"
#include "compiler/ir/graph.h"
#include "compiler/ir/node_map.h"
#include "compiler/lower/buffer_plan.h"
#include "compiler/lower/memory_plan.h"

namespace sinter::codegen {

using llvm::Value;
using Offsets = std::vector<Value*>;

// Rows of the matrix micro-kernel's register tile (its columns are two vectors of the target).
inline constexpr int kGemmRows = 6;

// Whether an f32 conv2d or conv2d_grad_weight is computed directly from its operands (emitDirectConv,
// emitDirectConvWeights) rather than by im2col and the product: stride 1, few taps per output channel,
// short output rows.
bool directConv(const ir::Graph& g, const ir::Node& n);
// Whether an f32 conv2d that directConv does not take is computed with its output channels in the lanes
// (emitChannelConv) rather than by im2col and the product: stride 1, no padding, at least 8 output channels.
bool channelConv(const ir::Graph& g, const ir::Node& n);
// Whether an f32 conv2d_grad_input is computed directly from dy and the filters (emitDirectConvInput,
// kernels_conv_input.cpp) rather than by the product and col2im: stride 1, small images and filters.
bool directConvInput(const ir::Graph& g, const ir::Node& n, int lanes);
// The floats of each tap's row of channelConv's transposed filters: O rounded up to whole vectors.
std::int64_t channelConvStride(std::int64_t O, int lanes);
// Whether an f32 conv2d_grad_weight that directConv does not take is computed with its output channels in the
// lanes (emitChannelConvWeights, kernels_conv_weights.cpp) rather than by im2col and the product: stride 1,
// no padding or dilation, at least 8 output channels, KW at most 14.
bool channelConvWeights(const ir::Graph& g, const ir::Node& n);
// The floats of emitChannelConvWeights's scratch: one image's dy transposed, then the lane-wise sums.
std::int64_t channelConvWeightsScratch(const ir::Graph& g, const ir::Node& n, int lanes);
// Whether a conv + epilogue group's elementwise members run on the direct convolution's register tiles
// (emitDirectConv, emitChannelConv): every operand from outside the group is constant along the output's
// rows (a bias).
bool convEpilogueInRegisters(const ir::Graph& g, const ir::FusionGroup& k);
// The runtime scratch slot (model_abi.h) that holds the entry point's arena; parallel chunks use the others.
inline constexpr int kArenaScratchSlot = SINTER_SCRATCH_SLOTS - 1;

class KernelEmitter {
  class CodeEmitter;  // the op table's formulas over LLVM values (kernels_elementwise.cpp)

 public:
  KernelEmitter(llvm::Module& mod, llvm::Function* fn, const ir::Graph& g, const lower::BufferPlan& plan,
                const lower::MemoryPlan& memory, const KernelProgram& program, int vectorFloats, bool training);
  // A train step: call the bucket hook after the kernel that completes each bucket.
  void notifyBuckets(const GradBuckets* buckets) { buckets_ = buckets; }
  // Kernel functions shared with other entry points of the module (emitGraphFunction).
  void shareKernels(KernelFunctions* shared) { shared_ = shared; }
  void emit();

 private:
  llvm::Module& mod_;
  llvm::Function* fn_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  const ir::Graph& g_;
  const lower::BufferPlan& plan_;
  const lower::MemoryPlan& memory_;
  const KernelProgram& program_;
  ir::NodeMap<bool> inFused_;  // per node: computed by a fused kernel (its members may live in registers only)
  int lanes_;                  // f32 lanes of one vector register of the target
  bool training_;              // a train step: dropout drops, with the seed in sym_dims[num_syms]
  const GradBuckets* buckets_ = nullptr;
  KernelFunctions* shared_ = nullptr;
  void bucketsReadyAfter(std::size_t kernel);
  Value* seed_ = nullptr;
  std::map<std::string, Value*> syms_;
  ir::NodeMap<Value*> ptr_;  // per node: its buffer
  // Memory from the runtime's scratch hook (model_abi.h), or from aligned_alloc when no runtime installed one
  // (fromMalloc: then it is freed at the end of its use).
  struct ScratchBlock {
    Value* ptr = nullptr;
    Value* fromMalloc = nullptr;
  };
  ScratchBlock allocateScratch(int slot, Value* bytes, const std::string& name);
  void releaseScratch(const std::vector<ScratchBlock>& blocks);
  ScratchBlock arena_;
  // The entry point's environment for its kernel functions: the symbols, then the seed (parallel_loops.cpp).
  Value* env_ = nullptr;
  llvm::Function* entryFn_ = nullptr;     // the entry point (whose ptr_ are its own values)
  ir::NodeMap<int> homeOf_;               // per node: its memory, an ABI buffer index or kArenaHome + slot, or -1
  llvm::Function* homeArgsFn_ = nullptr;  // the kernel function whose arguments homeArgs_ are
  std::map<int, Value*> homeArgs_;        // home -> that function's argument
  std::vector<int> homeOrder_;            // that function's homes, in argument order
  Value* buffer(ir::NodeId id);
  std::string kernelKey(const ir::FusionGroup& k, const std::vector<ir::NodeId>& touched,
                        const std::vector<int>& homes) const;

  // ---- types, sizes, buffers (kernel_emitter.cpp) -----------------------------------------------
  llvm::Type* i64() { return b_.getInt64Ty(); }
  llvm::Constant* c64(std::int64_t v) { return b_.getInt64(static_cast<std::uint64_t>(v)); }
  llvm::Type* elem(ir::DType t);
  Value* extent(const ir::Dim& d);
  std::vector<Value*> extents(const ir::Shape& s);
  Value* numel(const ir::Shape& s);
  Value* product(const std::vector<Value*>& xs, std::size_t from, std::size_t to);
  Value* bytes(const ir::TensorType& t);
  Value* bufferArg(int index);
  // Allocates the arena (or takes a loop body's from its third argument) and returns the address of every slot.
  std::vector<Value*> allocateArena();
  // The byte offset of every slot of `memory`, then the arena's size (lower::MemoryPlan::slotOffsets).
  std::vector<Value*> arenaOffsets(const lower::MemoryPlan& memory);
  Value* symSize(const lower::SymSize& s);
  Value* at(const ir::Node& n, Value* offset);
  Value* load(const ir::Node& n, Value* offset);
  void store(const ir::Node& n, Value* offset, Value* v);
  const ir::Node& operand(const ir::Node& n, int i) { return g_.node(n.operands[static_cast<std::size_t>(i)]); }
  Value* scalarSlot(llvm::Type* t, Value* init);
  Value* fconst(const ir::Node& n, double v) { return llvm::ConstantFP::get(elem(n.type.dtype), v); }
  Value* fconst(llvm::Type* t, double v) { return llvm::ConstantFP::get(t, v); }
  Value* mathCall(const char* f32Name, const char* f64Name, Value* x);
  // exp, log, log1p, tanh: inline polynomials for f32 that vectorize, libm for f64 (vector_math.cpp).
  Value* vexp(Value* x);
  Value* vlog(Value* x);
  Value* vlog1p(Value* x);
  Value* vtanh(Value* x);
  Value* verf(Value* x);  // the same for erf

  // ---- loops (kernel_emitter.cpp) -----------------------------------------------------------------
  // for (i = 0; i < end; ++i) body(i)
  void forLoop(Value* end, const std::function<void(Value*)>& body);
  // Row-major strides of a shape; the strides of `operand` read as if broadcast to `shape` (0 where it
  // broadcasts).
  std::vector<Value*> strides(const ir::Shape& s);
  std::vector<Value*> broadcastStrides(const ir::Shape& operand, const ir::Shape& shape);
  // Visits every index of `dims`; body gets, for each stride vector, Σ index_d stride_d.
  void loopNest(const std::vector<Value*>& dims, const std::vector<std::vector<Value*>>& strideSets,
                const std::function<void(const Offsets&)>& body);
  // Visits every element of `shape`: offs[0] is its own offset, offs[k+1] that of operands[k] broadcast to it.
  void forEachElement(const ir::Shape& shape, const std::vector<ir::Shape>& operands,
                      const std::function<void(const Offsets&)>& body);
  void fill(const ir::Node& n, Value* v);

  // ---- parallel loops (parallel_loops.cpp) ------------------------------------------------------------
  // Stores the symbols and the seed into env_; called once, at the entry point.
  void prepareEnvironment();
  // Emits body(begin, end) as a function of its own and calls it over [0, count) through the runtime's
  // parallel loop (or directly, without one). The body runs in that other function: it must compute
  // every value it uses itself (extents, buffers and the seed are there again), nothing from outside.
  // `work` estimates the multiply-adds, for the runtime to keep small loops on one thread.
  void parallelFor(Value* count, Value* work, const std::function<void(Value* begin, Value* end)>& body);
  // Emits body(begin, end) as an internal, never inlined function `void (ptr env, i64 begin, i64 end, ...)`
  // of its own, with the symbols and the seed read from env, and returns it. A kernel function takes one
  // noalias pointer per home (see homeOf_) after begin and end; a parallel body (homesInEnv) finds them in
  // env after the seed instead (parallelFor).
  llvm::Function* outline(const std::string& name, const std::function<void(Value* begin, Value* end)>& body,
                          const std::vector<int>& homes, bool homesInEnv);

  // ---- the loop-level kernel IR (emit_loops.cpp) --------------------------------------------------
  std::map<std::string, Value*> vars_;     // loop variables in scope
  std::map<std::string, Value*> scratch_;  // scratch buffers in scope
  // A loop body's panels packed once by its loop (kernel_plan.h's PackedOnce), by name: the home that passes
  // each to the kernels that read it (see homeOf_).
  std::map<std::string, int> panelHomes_;
  Value* panel(const std::string& name);     // a scratch buffer in scope, or a panel packed once
  const ir::FusionGroup* kernel_ = nullptr;  // the kernel being emitted
  void emitNest(const loop::Nest& nest, const ir::FusionGroup& k);
  void emitStmt(const loop::Stmt& s);
  void emitLoop(const loop::Loop& l);
  void emitCompute(const loop::Compute& c);
  void emitPrim(const loop::Prim& p);
  void emitNodePrim(const loop::Prim& p);
  void prefetch(llvm::Value* base, llvm::Value* index);
  void emitMicroKernel(const loop::Prim& p);
  void emitPackB(const loop::Prim& p);
  std::vector<Value*> transposeSquare(std::vector<Value*> rows);
  Value* roundUp(Value* kc);
  Value* lanesBelow(Value* first, Value* end);
  void vectorRun(Value* from, Value* to, Value* dst, Value* src);
  Value* eval(const loop::Expr& e);
  Value* base(const loop::Buffer& buf);
  llvm::Type* elemOf(const loop::Buffer& buf);
  Value* address(const loop::Access& a);
  // for (v = begin; v < end; v += step) body(v), with loop metadata (or none) on the back edge.
  // Loop metadata: LLVM must vectorize the loop, `width` lanes.
  llvm::MDNode* vectorHints(int width);
  // Loop metadata: LLVM must not unroll the loop (a register tile it would otherwise spill by hoisting the
  // next iterations' loads).
  llvm::MDNode* noUnrollHint();
  void steppedLoop(Value* begin, Value* end, std::int64_t step, llvm::MDNode* hints,
                   const std::function<void(Value*)>& body, const std::string& name = "loop");

  // ---- loops (kernels_loop.cpp) ------------------------------------------------------------------------
  // The loop kernel k (the sibling scan nodes of one loop): the steps calling `body`, the function of its
  // lowered body `l`, with the pointers of each step.
  void emitLoopKernel(const ir::FusionGroup& k, llvm::Function* body, const LoweredGraph& l);
  // Copies step t of `seq` (sliced along `axis`) to the contiguous `step`, or back when `in` is false.
  void copyStep(const ir::Node& seq, std::size_t axis, Value* seqBase, Value* t, Value* step, bool in);

  // ---- kernels a primitive runs (kernels_*.cpp) -------------------------------------------------------
  Value* elementwiseValue(const ir::Node& n, const std::vector<Value*>& v);  // kernels_elementwise.cpp
  Value* dropoutScale(const ir::Node& n, Value* index);
  void emitArgMax(const ir::Node& n);  // kernels_reduce.cpp
  void emitReduce(const ir::Node& n, Value* begin = nullptr, Value* end = nullptr);  // kernels_reduce.cpp
  void emitSoftmaxFamily(const ir::Node& n);
  std::pair<Value*, Value*> rowMaxAndSum(const ir::Node& x, Value* base, Value* len, Value* stride);
  void emitCrossEntropy(const ir::Node& n);
  void emitCrossEntropyGrad(const ir::Node& n);
  // cross_entropy with its gradient and/or the softmax of its logits (either may be null): one max and one
  // sum of exponentials per row serve all of them.
  void emitCrossEntropyFused(const ir::Node& ce, const ir::Node* grad, const ir::Node* softmax);
  void emitLoss(const ir::Node& n);    // mse, bce_with_logits, soft_cross_entropy
  void emitLayout(const ir::Node& n);  // kernels_layout.cpp
  void emitGather(const ir::Node& n);
  // One 2-D product on row-major buffers: C[M,N] = op(A) op(B), or C += with accumulate (kernels_linalg.cpp).
  struct Gemm {
    Value *a, *b, *c;
    llvm::Type* t;
    Value *M, *N, *K;
    bool transA, transB, accumulate;
  };
  // Rows [rowBegin, rowEnd) of C by plain loops: the f64 products (f32 runs the micro-kernel).
  void emitGemmNaive(const Gemm& g, Value* rowBegin, Value* rowEnd);
  // for (i = begin; i < end; ++i) body(i)
  void forRange(Value* begin, Value* end, const std::function<void(Value*)>& body);
  // Columns [j0, j1) of s = sum_to(dy[B, N]), each summed over the rows in order (kernels_fused.cpp).
  void emitColumnSums(const ir::Node& s, Value* j0, Value* j1);
  // Iterations [begin, end) of an f64 convolution's direct loop nest: images, or output channels for the weights.
  void emitConvRange(const ir::Node& n, Value* begin, Value* end);
  // col[(c,kh,kw), (i,j)] <- the patches of one image of convolution n; col2im adds col back into dx.
  void emitIm2Col(const ir::Node& n, Value* image, Value* col, bool transposed, Value* chFrom, Value* chTo);
  void emitCol2Im(const ir::Node& n, Value* image, Value* col);
  // Images [begin, end) of a small stride-1 f32 conv2d, and output channels [begin, end) of its weight
  // gradient over `images`, without im2col.
  void emitDirectConv(const ir::Node& n, Value* begin, Value* end, const ir::FusionGroup* epilogue = nullptr);
  // Images [begin, end) of a channelConv conv2d from its filters transposed to [tap][O] (`filters`, rows
  // channelConvStride apart, zero past O).
  void emitChannelConv(const ir::Node& n, Value* begin, Value* end, Value* filters, const ir::FusionGroup* epilogue);
  void emitConvEpilogueVector(const ir::FusionGroup& k, Value* y, Value* image, Value* o, Value* i, Value* offset,
                              Value* mask);
  void emitDirectConvWeights(const ir::Node& n, Value* begin, Value* end, Value* images, Value* sums);
  // Input channels [begin, end) of a channelConvWeights conv2d_grad_weight over `images`, in `scratch`
  // (channelConvWeightsScratch floats).
  void emitChannelConvWeights(const ir::Node& n, Value* begin, Value* end, Value* images, Value* scratch);
  // Images [begin, end) of a directConvInput conv2d_grad_input (kernels_conv_input.cpp).
  void emitDirectConvInput(const ir::Node& n, Value* begin, Value* end);
  void emitPoolRange(const ir::Node& n, Value* begin, Value* end);       // planes [begin, end)
  void emitTiledPoolRange(const ir::Node& n, Value* begin, Value* end);  // windows that tile the image
};

}  // namespace sinter::codegen
