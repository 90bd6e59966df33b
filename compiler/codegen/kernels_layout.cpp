// Layout kernels: reshape, transpose, concat, slice (and its adjoint), one-hot, padding, gather (and its adjoint).
#include "compiler/codegen/kernel_emitter.h"

namespace sinter::codegen {

void KernelEmitter::emitLayout(const ir::Node& n) {
  const ir::Node& x = operand(n, 0);
  if (n.op == ir::Op::Reshape) {  // same elements, same order
    b_.CreateMemCpy(at(n, c64(0)), llvm::MaybeAlign(4), at(x, c64(0)), llvm::MaybeAlign(4), bytes(n.type));
  } else if (n.op == ir::Op::Transpose) {  // out[i_0..i_r] = x[i at perm^-1]: x is read with its strides permuted
    const auto& perm = n.attrs.getInts("perm");
    std::vector<Value*> xs = strides(x.type.shape), permuted;
    for (std::int64_t p : perm) permuted.push_back(xs[static_cast<std::size_t>(p)]);
    loopNest(extents(n.type.shape), {strides(n.type.shape), permuted},
             [&](const Offsets& o) { store(n, o[0], load(x, o[1])); });
  } else if (n.op == ir::Op::Concat) {  // each operand copied into its range of the axis
    const std::size_t axis = static_cast<std::size_t>(n.attrs.getInt("axis"));
    const std::vector<Value*> os = strides(n.type.shape);
    std::int64_t start = 0;
    for (ir::NodeId id : n.operands) {
      const ir::Node& t = g_.node(id);
      Value* shift = b_.CreateMul(c64(start), os[axis]);
      loopNest(extents(t.type.shape), {os, strides(t.type.shape)},
               [&](const Offsets& o) { store(n, b_.CreateAdd(o[0], shift), load(t, o[1])); });
      start += t.type.shape[axis].size;
    }
  } else if (n.op == ir::Op::Slice || n.op == ir::Op::SliceGrad) {
    // The big tensor (x for slice, the result for slice_grad) is read with the axis stride scaled by
    // `step` and shifted by `start`; slice_grad first zeroes the elements the slice does not cover.
    const bool grad = n.op == ir::Op::SliceGrad;
    const ir::Node& big = grad ? n : x;
    const ir::Node& small = grad ? x : n;
    const std::size_t axis = static_cast<std::size_t>(n.attrs.getInt("axis"));
    std::vector<Value*> bs = strides(big.type.shape);
    Value* shift = b_.CreateMul(c64(n.attrs.getInt("start")), bs[axis]);
    bs[axis] = b_.CreateMul(bs[axis], c64(n.attrs.getInt("step")));
    if (grad) fill(n, fconst(n, 0));
    loopNest(extents(small.type.shape), {strides(small.type.shape), bs}, [&](const Offsets& o) {
      Value* bigOff = b_.CreateAdd(o[1], shift);
      if (grad) store(n, bigOff, load(x, o[0]));
      else store(n, o[0], load(x, bigOff));
    });
  } else if (n.op == ir::Op::OneHot) {  // zeros, then a 1 at each index in range
    const std::int64_t classes = n.attrs.getInt("classes");
    fill(n, fconst(n, 0));
    forLoop(numel(x.type.shape), [&](Value* s) {
      Value* id = b_.CreateSExt(load(x, s), i64());
      Value* inRange = b_.CreateAnd(b_.CreateICmpSGE(id, c64(0)), b_.CreateICmpSLT(id, c64(classes)));
      Value* row = b_.CreateMul(s, c64(classes));
      store(n, b_.CreateSelect(inRange, b_.CreateAdd(row, id), row),
            b_.CreateSelect(inRange, fconst(n, 1), fconst(n, 0)));
    });
  } else if (n.op == ir::Op::Pad) {  // the value everywhere, then x shifted by `before` along every axis
    fill(n, fconst(n, n.attrs.getFloat("value")));
    const std::vector<Value*> os = strides(n.type.shape);
    const auto& before = n.attrs.getInts("before");
    Value* shift = c64(0);
    for (std::size_t d = 0; d < before.size(); ++d) shift = b_.CreateAdd(shift, b_.CreateMul(c64(before[d]), os[d]));
    loopNest(extents(x.type.shape), {os, strides(x.type.shape)},
             [&](const Offsets& o) { store(n, b_.CreateAdd(o[0], shift), load(x, o[1])); });
  } else {
    throw std::logic_error("codegen: not a layout op");
  }
}

// gather(table[V,D..], idx[S..]) copies row idx[s] to out[s]; gather_grad(dy, idx) adds dy[s] to row idx[s].
// Indices are clamped into [0, V) so that a bad index cannot read or write out of bounds.
void KernelEmitter::emitGather(const ir::Node& n) {
  const bool grad = n.op == ir::Op::GatherGrad;
  const ir::Node& src = operand(n, 0);
  const ir::Node& idx = operand(n, 1);
  const ir::Shape& table = grad ? n.type.shape : src.type.shape;
  Value* rows = extent(table[0]);
  Value* row = numel(ir::Shape(table.begin() + 1, table.end()));
  if (grad) fill(n, fconst(n, 0));
  forLoop(numel(idx.type.shape), [&](Value* s) {
    Value* id = b_.CreateSExt(load(idx, s), i64());
    id = b_.CreateSelect(b_.CreateICmpSLT(id, c64(0)), c64(0), id);
    id = b_.CreateSelect(b_.CreateICmpSGE(id, rows), b_.CreateSub(rows, c64(1)), id);
    Value* tableBase = b_.CreateMul(id, row);
    Value* denseBase = b_.CreateMul(s, row);
    forLoop(row, [&](Value* j) {
      if (grad) {
        Value* off = b_.CreateAdd(tableBase, j);
        store(n, off, b_.CreateFAdd(load(n, off), load(src, b_.CreateAdd(denseBase, j))));
      } else {
        store(n, b_.CreateAdd(denseBase, j), load(src, b_.CreateAdd(tableBase, j)));
      }
    });
  });
}

}  // namespace sinter::codegen
