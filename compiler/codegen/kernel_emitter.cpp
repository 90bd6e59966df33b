// The generated function's frame: symbols, buffers, loop nests, and the dispatch of nodes to kernels.
#include "compiler/codegen/kernel_emitter.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <algorithm>
#include <stdexcept>

#include "compiler/codegen/emit_kernels.h"

namespace sinter::codegen {

using llvm::BasicBlock;

KernelEmitter::KernelEmitter(llvm::Module& mod, llvm::Function* fn, const ir::Graph& g, const lower::BufferPlan& plan,
                             const lower::MemoryPlan& memory, const KernelProgram& program, int vectorFloats,
                             bool training)
    : mod_(mod),
      fn_(fn),
      ctx_(mod.getContext()),
      b_(ctx_),
      g_(g),
      plan_(plan),
      memory_(memory),
      program_(program),
      inFused_(g, false),
      lanes_(vectorFloats),
      training_(training) {}

void KernelEmitter::emit() {
  b_.SetInsertPoint(BasicBlock::Create(ctx_, "entry", fn_));
  // Reductions (matmul, softmax, sums) may be reassociated so that LLVM can vectorize them.
  llvm::FastMathFlags fmf;
  fmf.setAllowReassoc();
  fmf.setAllowContract();
  b_.setFastMathFlags(fmf);
  Value* symDims = fn_->getArg(1);
  for (std::size_t i = 0; i < plan_.symbols.size(); ++i)
    syms_[plan_.symbols[i]] = b_.CreateLoad(i64(), b_.CreateConstInBoundsGEP1_64(i64(), symDims, i), plan_.symbols[i]);
  bool random = false;
  for (const ir::Node& n : g_.nodes) random = random || (ir::opDef(n.op).flags & ir::kStochastic);
  if (training_ && random)  // the ABI's extra sym_dims entry: a fresh seed for every train step
    seed_ = b_.CreateLoad(i64(), b_.CreateConstInBoundsGEP1_64(i64(), symDims, plan_.symbols.size()), "seed");

  ptr_.assign(g_.nodes.size(), nullptr);
  const std::vector<Value*> slots = allocateArena();
  for (const ir::FusionGroup& k : program_.kernels)
    if (k.fused())
      for (ir::NodeId id : k.nodes) inFused_[id] = true;
  for (const ir::Node& n : g_.nodes) {
    const ir::NodeId id = n.id;
    const lower::Slot& s = plan_.home[id];
    if (s.kind == lower::Slot::Temporary && inFused_[id] && memory_.slotOf[id] < 0) continue;  // in registers only
    if (s.kind != lower::Slot::Temporary) {
      ptr_[id] = bufferArg(s.buffer);
      continue;
    }
    const int slot = memory_.slotOf[id];
    if (slot < 0) throw std::logic_error(fmt::format("codegen: temporary %{} has no arena slot", n.id));
    ptr_[id] = slots[static_cast<std::size_t>(slot)];
  }
  prepareEnvironment();
  // Every kernel is a function of its own, called in order (see outline() for why), with the memories it
  // touches as arguments.
  constexpr int kArenaHome = 1 << 20;
  homeOf_.assign(g_.nodes.size(), -1);
  for (const ir::Node& n : g_.nodes) {
    const ir::NodeId id = n.id;
    if (!ptr_[id]) continue;
    const lower::Slot& s = plan_.home[id];
    homeOf_[id] = s.kind != lower::Slot::Temporary ? s.buffer : kArenaHome + memory_.slotOf[id];
  }
  // A loop body's panels packed once by its loop follow the body's buffers (kernels_loop.cpp).
  const loop::Target target{lanes_, program_.invariant};
  std::vector<Value*> panels;
  constexpr int kPanelHome = 1 << 21;
  if (!program_.invariant.empty())
    for (const PackedOnce& once : packedOnce(g_, program_, target)) {
      panelHomes_[once.panel] = kPanelHome + static_cast<int>(panels.size());
      panels.push_back(bufferArg(plan_.numBuffers + static_cast<int>(panels.size())));
    }
  // Kernels with the same structure (the time steps of an unrolled recurrent net) share one function.
  KernelFunctions own;
  KernelFunctions& emitted = shared_ ? *shared_ : own;
  for (std::size_t index = 0; index < program_.kernels.size(); ++index) {
    const ir::FusionGroup& k = program_.kernels[index];
    std::vector<ir::NodeId> touched;  // members, then operands from outside, each once
    for (ir::NodeId id : k.nodes)
      if (std::find(touched.begin(), touched.end(), id) == touched.end()) touched.push_back(id);
    for (ir::NodeId id : k.nodes)
      for (ir::NodeId o : g_.node(id).operands)
        if (std::find(touched.begin(), touched.end(), o) == touched.end()) touched.push_back(o);
    std::vector<int> homes;
    std::vector<Value*> args = {env_, c64(0), c64(0)};
    for (ir::NodeId id : touched) {
      const int h = homeOf_[id];
      if (h < 0 || std::find(homes.begin(), homes.end(), h) != homes.end()) continue;
      homes.push_back(h);
      args.push_back(ptr_[id]);
    }
    if (k.kind == ir::KernelKind::Loop) {  // a loop is one of a kind: its body is a function of its own
      const std::string name = fmt::format("{}.k{}.loop", entryFn_->getName().str(), index);
      const LoweredGraph& body = *program_.bodies.at(index);
      llvm::Function* bodyFn = emitBodyFunction(mod_, name + ".body", *loopBody(g_, k).body, body, lanes_, training_);
      b_.CreateCall(outline(
                        name, [&](Value*, Value*) { emitLoopKernel(k, bodyFn, body); }, homes, false),
                    args);
      bucketsReadyAfter(index);
      continue;
    }
    const loop::Nest nest = scheduleKernel(g_, k, target);
    std::string key = kernelKey(k, touched, homes);
    for (const PackedOnce& once : packedOnce(nest, lanes_)) {  // the panels packed once that the nest reads
      const int home = panelHomes_.at(once.panel);
      key += "|reads " + once.panel;
      homes.push_back(home);
      args.push_back(panels[static_cast<std::size_t>(home - kPanelHome)]);
    }
    llvm::Function*& f = emitted[key];
    if (!f) {
      // Named after the kernel's number in `sinter dump --stage=kernel` and its ops, so that the
      // assembly and profiles read like the kernel program: sinter_model_train_step.k3.matmul_add_relu
      std::string ops;
      for (ir::NodeId id : k.nodes)
        if (ops.size() < 40) ops += (ops.empty() ? "" : "_") + std::string(ir::opName(g_.node(id).op));
      f = outline(
          fmt::format("{}.k{}.{}", entryFn_->getName().str(), index, ops), [&](Value*, Value*) { emitNest(nest, k); },
          homes, false);
    }
    b_.CreateCall(f, args);
    bucketsReadyAfter(index);
  }
  for (const lower::Copy& c : plan_.copies) {
    const ir::Node& n = g_.node(c.from);
    b_.CreateMemCpy(bufferArg(c.buffer), llvm::MaybeAlign(4), ptr_[n.id], llvm::MaybeAlign(4), bytes(n.type));
  }
  bucketsReadyAfter(program_.kernels.size());
  if (arena_.ptr) releaseScratch({arena_});
  b_.CreateRetVoid();
}

// The gradients of the buckets that kernel `kernel` completes are final: the runtime may start summing them
// (grad_buckets.h).
void KernelEmitter::bucketsReadyAfter(std::size_t kernel) {
  if (!buckets_) return;
  for (std::size_t i = 0; i < buckets_->buckets.size(); ++i)
    if (buckets_->buckets[i].readyAfter == kernel)
      b_.CreateCall(bucketReadyFunction(mod_), {b_.getInt32(static_cast<std::uint32_t>(i))});
}

// Everything the code of a kernel depends on, with node ids replaced by positions: two kernels with the
// same key compute the same function of their memories (passed in the order of `homes`). Nodes are named
// by their position in `touched`, memories by their position in `homes`.
std::string KernelEmitter::kernelKey(const ir::FusionGroup& k, const std::vector<ir::NodeId>& touched,
                                     const std::vector<int>& homes) const {
  auto pos = [&](ir::NodeId id) { return std::find(touched.begin(), touched.end(), id) - touched.begin(); };
  // A kernel reads the symbols and the seed from its entry point's environment: shared between entry points,
  // it needs the same layout there.
  std::string key = fmt::format("{} {} {} {}|", static_cast<int>(k.kind), k.nodes.size(), seed_ ? 1 : 0,
                                fmt::join(plan_.symbols, ","));
  for (ir::NodeId id : touched) {
    const ir::Node& n = g_.node(id);
    const int h = homeOf_[id];
    const auto home = h < 0 ? -1 : std::find(homes.begin(), homes.end(), h) - homes.begin();
    key += fmt::format("[{} {} home {}", ir::opName(n.op), n.type.str(), home);
    if (k.contains(id)) {
      key += fmt::format(" {} {}", n.attrs.str(), n.scalar);
      for (ir::NodeId o : n.operands) key += fmt::format(" %{}", pos(o));
      if (k.fused()) key += k.stores(id) ? " stored" : "";
    }
    key += "]";
  }
  return key;
}

// ---- types, sizes, buffers -----------------------------------------------------------------------

llvm::Type* KernelEmitter::elem(ir::DType t) {
  switch (t) {
    case ir::DType::F32: return b_.getFloatTy();
    case ir::DType::F64: return b_.getDoubleTy();
    case ir::DType::I32: return b_.getInt32Ty();
  }
  return nullptr;
}

Value* KernelEmitter::extent(const ir::Dim& d) {
  if (!d.isSymbolic()) return c64(d.size);
  auto it = syms_.find(d.symbol);
  if (it == syms_.end()) throw std::logic_error("codegen: unbound symbol " + d.symbol);
  return it->second;
}

std::vector<Value*> KernelEmitter::extents(const ir::Shape& s) {
  std::vector<Value*> out;
  for (const ir::Dim& d : s) out.push_back(extent(d));
  return out;
}

Value* KernelEmitter::product(const std::vector<Value*>& xs, std::size_t from, std::size_t to) {
  Value* n = c64(1);
  for (std::size_t i = from; i < to; ++i) n = b_.CreateMul(n, xs[i]);
  return n;
}

Value* KernelEmitter::numel(const ir::Shape& s) {
  auto e = extents(s);
  return product(e, 0, e.size());
}

Value* KernelEmitter::bytes(const ir::TensorType& t) {
  return b_.CreateMul(numel(t.shape), c64(static_cast<std::int64_t>(ir::dtypeSize(t.dtype))));
}

Value* KernelEmitter::bufferArg(int index) {
  return b_.CreateLoad(b_.getPtrTy(),
                       b_.CreateConstInBoundsGEP1_64(b_.getPtrTy(), fn_->getArg(0), static_cast<std::uint64_t>(index)));
}

// A byte count that depends on the symbols (1024*batch + 64), evaluated at run time.
Value* KernelEmitter::symSize(const lower::SymSize& s) {
  Value* total = c64(0);
  for (const auto& [symbols, coefficient] : s.terms) {
    Value* term = c64(coefficient);
    for (const std::string& sym : symbols) term = b_.CreateMul(term, extent(ir::Dim::sym(sym)));
    total = b_.CreateAdd(total, term);
  }
  return total;
}

// One aligned allocation per call holds every temporary, at the offsets of the memory plan (slots shared
// by values whose lifetimes do not overlap); the same formula as lower::MemoryPlan::slotOffsets.
std::vector<Value*> KernelEmitter::arenaOffsets(const lower::MemoryPlan& memory) {
  const std::int64_t align = lower::kArenaAlignment;
  std::vector<Value*> offsets = {c64(0)};
  for (const lower::SymSize& size : memory.slotSize) {
    Value* end = b_.CreateAdd(offsets.back(), b_.CreateAdd(symSize(size), c64(align - 1)));
    offsets.push_back(b_.CreateAnd(end, c64(~(align - 1))));
  }
  return offsets;
}

std::vector<Value*> KernelEmitter::allocateArena() {
  if (memory_.slotSize.empty()) return {};
  const std::vector<Value*> offsets = arenaOffsets(memory_);
  Value* base = nullptr;
  if (fn_->arg_size() > 2) {  // a loop body: its loop allocated the arena once for every step
    base = fn_->getArg(2);
  } else {
    // The runtime's per-thread scratch (its last slot; kernels use the others) keeps the arena between calls:
    // an unrolled LSTM's arena is 17 MiB at batch 64, and allocating it on every call meant page faults and
    // zeroing on every call.
    arena_ = allocateScratch(kArenaScratchSlot, b_.CreateAdd(offsets.back(), c64(lower::kArenaAlignment)), "arena");
    base = arena_.ptr;
  }
  std::vector<Value*> slots;
  for (std::size_t s = 0; s + 1 < offsets.size(); ++s)
    slots.push_back(b_.CreateInBoundsGEP(b_.getInt8Ty(), base, offsets[s]));
  return slots;
}

Value* KernelEmitter::at(const ir::Node& n, Value* offset) {
  return b_.CreateInBoundsGEP(elem(n.type.dtype), buffer(n.id), offset);
}
Value* KernelEmitter::load(const ir::Node& n, Value* offset) {
  return b_.CreateLoad(elem(n.type.dtype), at(n, offset));
}
void KernelEmitter::store(const ir::Node& n, Value* offset, Value* v) { b_.CreateStore(v, at(n, offset)); }

// A stack slot for a loop-carried scalar; SROA turns it into SSA, so it costs nothing.
Value* KernelEmitter::scalarSlot(llvm::Type* t, Value* init) {
  llvm::IRBuilder<> eb(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
  Value* slot = eb.CreateAlloca(t);
  b_.CreateStore(init, slot);
  return slot;
}

// A libm function without an LLVM intrinsic (tanhf, erff, log1pf), by the operand's precision.
Value* KernelEmitter::mathCall(const char* f32Name, const char* f64Name, Value* x) {
  llvm::Type* t = x->getType();
  auto f = mod_.getOrInsertFunction(t->isFloatTy() ? f32Name : f64Name, t, t);
  return b_.CreateCall(f, {x});
}

// ---- loops -----------------------------------------------------------------------------------------

void KernelEmitter::forLoop(Value* end, const std::function<void(Value*)>& body) {
  steppedLoop(c64(0), end, 1, nullptr, body, "i");
}

void KernelEmitter::forRange(Value* begin, Value* end, const std::function<void(Value*)>& body) {
  steppedLoop(begin, end, 1, nullptr, body, "i");
}

std::vector<Value*> KernelEmitter::strides(const ir::Shape& s) {
  std::vector<Value*> st(s.size(), c64(1));
  for (std::size_t i = s.size(); i-- > 1;) st[i - 1] = b_.CreateMul(st[i], extent(s[i]));
  return st;
}

std::vector<Value*> KernelEmitter::broadcastStrides(const ir::Shape& operand, const ir::Shape& shape) {
  std::vector<Value*> own = strides(operand), out(shape.size(), c64(0));
  const std::size_t lead = shape.size() - operand.size();
  for (std::size_t d = 0; d < operand.size(); ++d) {
    const ir::Dim& od = operand[d];
    if (!od.isSymbolic() && od.size == 1) continue;  // broadcast along this axis: stride 0
    out[lead + d] = own[d];
  }
  return out;
}

void KernelEmitter::loopNest(const std::vector<Value*>& dims, const std::vector<std::vector<Value*>>& strideSets,
                             const std::function<void(const Offsets&)>& body) {
  std::function<void(std::size_t, const Offsets&)> level = [&](std::size_t d, const Offsets& base) {
    if (d == dims.size()) return body(base);
    forLoop(dims[d], [&](Value* i) {
      Offsets next = base;
      for (std::size_t k = 0; k < strideSets.size(); ++k)
        next[k] = b_.CreateAdd(base[k], b_.CreateMul(i, strideSets[k][d]));
      level(d + 1, next);
    });
  };
  level(0, Offsets(strideSets.size(), c64(0)));
}

void KernelEmitter::forEachElement(const ir::Shape& shape, const std::vector<ir::Shape>& operands,
                                   const std::function<void(const Offsets&)>& body) {
  std::vector<std::vector<Value*>> sets = {strides(shape)};
  for (const ir::Shape& s : operands) sets.push_back(broadcastStrides(s, shape));
  loopNest(extents(shape), sets, body);
}

void KernelEmitter::fill(const ir::Node& n, Value* v) {
  forEachElement(n.type.shape, {}, [&](const Offsets& o) { store(n, o[0], v); });
}

llvm::Function* emitGraphFunction(llvm::Module& mod, const std::string& name, const ir::Graph& g,
                                  const lower::BufferPlan& plan, const lower::MemoryPlan& memory,
                                  const KernelProgram& program, int vectorFloats, bool training,
                                  const GradBuckets* buckets, KernelFunctions* shared) {
  llvm::LLVMContext& ctx = mod.getContext();
  auto* ptrTy = llvm::PointerType::getUnqual(ctx);
  auto* fnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy, ptrTy}, false);
  auto* fn = llvm::Function::Create(fnTy, llvm::Function::ExternalLinkage, name, mod);
  fn->getArg(0)->setName("buffers");
  fn->getArg(1)->setName("sym_dims");
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  // The entry point is glue: one call per kernel (hundreds for an unrolled recurrent net) in a single
  // basic block. Optimizing it gains nothing measurable, but LLVM's post-RA scheduler is quadratic in a
  // block's length: for the GRU's 788 calls it took a third of the compile time.
  fn->addFnAttr(llvm::Attribute::OptimizeNone);
  fn->addFnAttr(llvm::Attribute::NoInline);
  KernelEmitter e(mod, fn, g, plan, memory, program, vectorFloats, training);
  e.notifyBuckets(buckets);
  e.shareKernels(shared);
  e.emit();
  return fn;
}

}  // namespace sinter::codegen
