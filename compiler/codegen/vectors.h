// Vectors of a target's lanes for the kernels written vector by vector (the direct convolutions, the tiled
// pooling): a builder's vector type and the masked loads and stores they share.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "compiler/codegen/kernel_emitter.h"

namespace sinter::codegen {

// Vectors of L elements of type t, and the masked loads and stores that the direct convolutions and the
// tiled pooling share. The masks are known when the code is generated: lanes past a row's end, or
// columns outside the image.
struct Vectors {
  llvm::IRBuilder<>& b;
  llvm::Type* t;
  unsigned L;
  llvm::FixedVectorType* vec;
  llvm::Align align;
  llvm::Constant* zero;

  Vectors(llvm::IRBuilder<>& builder, llvm::Type* elem, unsigned lanes)
      : b(builder),
        t(elem),
        L(lanes),
        vec(llvm::FixedVectorType::get(elem, lanes)),
        align(elem->getPrimitiveSizeInBits() / 8),
        zero(llvm::Constant::getNullValue(vec)) {}

  Value* i64(std::int64_t v) { return b.getInt64(static_cast<std::uint64_t>(v)); }
  Value* splat(Value* v) { return b.CreateVectorSplat(L, v); }
  Value* gep(Value* p, Value* off) { return b.CreateInBoundsGEP(t, p, off); }
  // min(v, last): the row or channel of a register tile past the end recomputes the last one.
  Value* clamp(Value* v, Value* last) { return b.CreateSelect(b.CreateICmpSLT(v, last), v, last); }
  Value* clamp(Value* v, std::int64_t last) { return clamp(v, i64(last)); }
  // Of `count` lanes, those l with l < n and 0 <= shift + l < width; nullptr when that is all of them.
  Value* lanes(unsigned count, std::int64_t n, std::int64_t shift = 0,
               std::int64_t width = std::numeric_limits<std::int64_t>::max()) {
    std::vector<llvm::Constant*> bits;
    bool all = true;
    for (std::int64_t l = 0; l < count; ++l) {
      const bool on = l < n && shift + l >= 0 && shift + l < width;
      all = all && on;
      bits.push_back(b.getInt1(on));
    }
    return all ? nullptr : llvm::ConstantVector::get(bits);
  }
  // A vector of type `type` at p, 0 in the lanes outside `mask` (nullptr: every lane).
  Value* load(llvm::Type* type, Value* p, Value* mask) {
    if (!mask) return b.CreateAlignedLoad(type, p, align);
    return b.CreateMaskedLoad(type, p, align, mask, llvm::Constant::getNullValue(type));
  }
  void store(Value* v, Value* p, Value* mask) {
    if (!mask) b.CreateAlignedStore(v, p, align);
    else b.CreateMaskedStore(v, p, align, mask);
  }
  Value* both(Value* mask, Value* more) { return mask ? b.CreateAnd(mask, more) : more; }
  // row[shift + l] for the lanes l of `mask`, 0 in the others: a shifted input row of a direct convolution.
  // The lanes left of the row are masked off; their addresses may lie before the buffer, so no inbounds.
  Value* shiftedRow(Value* row, std::int64_t shift, Value* mask) {
    return load(vec, b.CreateGEP(t, row, i64(shift)), mask);
  }
};

}  // namespace sinter::codegen
