// The loop kernel: the sibling scan nodes of one loop (kernel_plan.cpp groups them) as one native loop
// around a call of the body's function per step (docs/ir.md, "Code generation of loops").
//
// The body is lowered once like a graph (its own kernel program and arena) and emitted as a function that
// takes its buffers like an entry point: one pointer per body input (the carries, one step of each sequence,
// the closures), then one per body result. Each step passes pointers into the sequences and the stacked
// results at step t, and the two buffers of every carry swapped (the body reads one and writes the other).
// Sequences sliced along an axis other than 0 are not contiguous at step t: their steps are copied to a
// buffer before the call, and stacked results back after it.
#include <fmt/format.h>
#include <stdexcept>

#include "compiler/codegen/emit_kernels.h"
#include "compiler/codegen/kernel_emitter.h"
#include "compiler/ir/scan.h"

namespace sinter::codegen {

llvm::Function* emitBodyFunction(llvm::Module& mod, const std::string& name, const ir::Graph& body,
                                 const LoweredGraph& l, int vectorFloats, bool training) {
  llvm::LLVMContext& ctx = mod.getContext();
  auto* ptrTy = llvm::PointerType::getUnqual(ctx);
  auto* fnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy, ptrTy, ptrTy}, false);
  auto* fn = llvm::Function::Create(fnTy, llvm::Function::InternalLinkage, name, mod);
  fn->getArg(0)->setName("buffers");
  fn->getArg(1)->setName("sym_dims");
  fn->getArg(2)->setName("arena");
  fn->addFnAttr(llvm::Attribute::NoUnwind);
  // Glue like an entry point: one call per kernel of the body (see emitGraphFunction).
  fn->addFnAttr(llvm::Attribute::OptimizeNone);
  fn->addFnAttr(llvm::Attribute::NoInline);
  KernelEmitter(mod, fn, body, l.buffers, l.memory, l.program, vectorFloats, training).emit();
  return fn;
}

void KernelEmitter::copyStep(const ir::Node& seq, std::size_t axis, Value* seqBase, Value* t, Value* step, bool in) {
  const std::vector<Value*> e = extents(seq.type.shape);
  Value* outer = product(e, 0, axis);
  Value* inner = b_.CreateMul(product(e, axis + 1, e.size()),
                              c64(static_cast<std::int64_t>(ir::dtypeSize(seq.type.dtype))));  // bytes
  forLoop(outer, [&](Value* o) {
    Value* at =
        b_.CreateInBoundsGEP(b_.getInt8Ty(), seqBase, b_.CreateMul(b_.CreateAdd(b_.CreateMul(o, e[axis]), t), inner));
    Value* slice = b_.CreateInBoundsGEP(b_.getInt8Ty(), step, b_.CreateMul(o, inner));
    if (in) b_.CreateMemCpy(slice, llvm::MaybeAlign(4), at, llvm::MaybeAlign(4), inner);
    else b_.CreateMemCpy(at, llvm::MaybeAlign(4), slice, llvm::MaybeAlign(4), inner);
  });
}

void KernelEmitter::emitLoopKernel(const ir::FusionGroup& k, llvm::Function* body, const LoweredGraph& l) {
  const ir::Node& first = loopBody(g_, k);
  const ir::ScanShape s = ir::ScanShape::of(first);
  const ir::Graph& bg = *first.body;
  const auto axis = static_cast<std::size_t>(s.axis);
  const auto carries = static_cast<std::size_t>(s.carries);
  const std::size_t inputs = first.operands.size(), results = bg.results.size();
  const bool contiguous = axis == 0;  // step t of a sequence is the block at t * step bytes
  Value* trip = extent(operand(first, static_cast<int>(carries)).type.shape[axis]);

  // The node of each body result that this loop writes (results nobody reads have none), and the others
  // that are the same result (CSE keeps them apart only across bodies).
  std::vector<const ir::Node*> node(results, nullptr);
  std::vector<std::pair<const ir::Node*, const ir::Node*>> duplicates;
  for (ir::NodeId id : k.nodes) {
    const ir::Node& n = g_.node(id);
    const auto r = static_cast<std::size_t>(n.attrs.getInt("result"));
    if (node[r]) duplicates.emplace_back(&n, node[r]);
    else node[r] = &n;
  }

  // One allocation for the steps: the body's arena, two buffers per carry, and a step buffer per sequence and
  // stacked result that is not read or written in place.
  const std::int64_t align = lower::kArenaAlignment;
  Value* total = c64(0);
  auto reserve = [&](Value* size) {
    Value* offset = total;
    total = b_.CreateAnd(b_.CreateAdd(b_.CreateAdd(total, size), c64(align - 1)), c64(~(align - 1)));
    return offset;
  };
  Value* arenaAt = reserve(arenaOffsets(l.memory).back());
  // B operands of the body's products that no step changes, packed whole once (kernel_plan.h): the body
  // takes their panels after its buffers.
  const std::vector<PackedOnce> panels = packedOnce(bg, l.program, {lanes_, l.program.invariant});
  std::vector<Value*> panelAt;
  for (const PackedOnce& once : panels) panelAt.push_back(reserve(b_.CreateMul(eval(once.floats), c64(4))));
  std::vector<std::pair<Value*, Value*>> carryAt;
  for (std::size_t c = 0; c < carries; ++c) {
    Value* size = bytes(operand(first, static_cast<int>(c)).type);
    Value* a = reserve(size);
    carryAt.emplace_back(a, reserve(size));
  }
  std::vector<Value*> stepAt(inputs + results, nullptr);  // by body buffer: inputs, then results
  for (std::size_t i = carries; i < carries + static_cast<std::size_t>(s.seqs); ++i)
    if (!contiguous) stepAt[i] = reserve(bytes(ir::stepType(operand(first, static_cast<int>(i)).type, axis)));
  for (std::size_t r = carries; r < results; ++r)
    if (!contiguous || !node[r]) stepAt[inputs + r] = reserve(bytes(bg.node(bg.results[r].node).type));
  Value* workspace =
      b_.CreateCall(mod_.getOrInsertFunction("aligned_alloc", b_.getPtrTy(), i64(), i64()), {c64(align), total});
  auto at = [&](Value* offset) { return b_.CreateInBoundsGEP(b_.getInt8Ty(), workspace, offset); };
  Value* arena = at(arenaAt);
  for (std::size_t c = 0; c < carries; ++c)
    b_.CreateMemCpy(at(carryAt[c].first), llvm::MaybeAlign(4), buffer(first.operands[c]), llvm::MaybeAlign(4),
                    bytes(operand(first, static_cast<int>(c)).type));

  llvm::IRBuilder<> eb(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
  Value* buffers =
      eb.CreateAlloca(llvm::ArrayType::get(b_.getPtrTy(), inputs + results + panels.size()), nullptr, "body_buffers");
  auto set = [&](std::size_t i, Value* p) {
    b_.CreateStore(p, b_.CreateConstInBoundsGEP1_64(b_.getPtrTy(), buffers, i));
  };
  // Step t of a buffer laid out time-major: `stepType` bytes at t times them.
  auto stepOf = [&](Value* base, const ir::TensorType& step, Value* t) {
    return b_.CreateInBoundsGEP(b_.getInt8Ty(), base, b_.CreateMul(t, bytes(step)));
  };
  for (std::size_t i = carries + static_cast<std::size_t>(s.seqs); i < inputs; ++i) set(i, buffer(first.operands[i]));
  for (std::size_t i = 0; i < panels.size(); ++i) {
    scratch_[panels[i].panel] = at(panelAt[i]);
    for (const loop::Stmt& st : packOnceNest(outerProduct(bg, first, panels[i].product), panels[i].panel, lanes_).body)
      emitStmt(st);
    scratch_.erase(panels[i].panel);
    set(inputs + results + i, at(panelAt[i]));
  }

  forLoop(trip, [&](Value* step) {
    Value* t = s.reverse ? b_.CreateSub(b_.CreateSub(trip, c64(1)), step) : step;
    Value* odd = b_.CreateTrunc(step, b_.getInt1Ty());
    for (std::size_t c = 0; c < carries; ++c) {
      Value *a = at(carryAt[c].first), *bb = at(carryAt[c].second);
      set(c, b_.CreateSelect(odd, bb, a));
      set(inputs + c, b_.CreateSelect(odd, a, bb));
    }
    for (std::size_t i = carries; i < carries + static_cast<std::size_t>(s.seqs); ++i) {
      const ir::Node& seq = operand(first, static_cast<int>(i));
      if (contiguous) {
        set(i, stepOf(buffer(seq.id), ir::stepType(seq.type, axis), t));
      } else {
        copyStep(seq, axis, buffer(seq.id), t, at(stepAt[i]), true);
        set(i, at(stepAt[i]));
      }
    }
    for (std::size_t r = carries; r < results; ++r)
      set(inputs + r, stepAt[inputs + r] ? at(stepAt[inputs + r])
                                         : stepOf(buffer(node[r]->id), ir::stepType(node[r]->type, axis), t));
    b_.CreateCall(body, {buffers, env_, arena});
    for (std::size_t r = carries; r < results; ++r)
      if (node[r] && !contiguous) copyStep(*node[r], axis, buffer(node[r]->id), t, at(stepAt[inputs + r]), false);
  });

  // After an odd number of steps the last carry is in the second buffer.
  Value* odd = b_.CreateTrunc(trip, b_.getInt1Ty());
  for (std::size_t c = 0; c < carries; ++c)
    if (node[c])
      b_.CreateMemCpy(buffer(node[c]->id), llvm::MaybeAlign(4),
                      b_.CreateSelect(odd, at(carryAt[c].second), at(carryAt[c].first)), llvm::MaybeAlign(4),
                      bytes(node[c]->type));
  for (const auto& [copy, of] : duplicates)
    b_.CreateMemCpy(buffer(copy->id), llvm::MaybeAlign(4), buffer(of->id), llvm::MaybeAlign(4), bytes(of->type));
  b_.CreateCall(mod_.getOrInsertFunction("free", b_.getVoidTy(), b_.getPtrTy()), {workspace});
}

}  // namespace sinter::codegen
