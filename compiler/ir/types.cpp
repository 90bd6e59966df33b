#include "compiler/ir/types.h"

#include <fmt/format.h>

namespace sinter::ir {

std::string_view dtypeName(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I32: return "i32";
  }
  return "?";
}

std::optional<DType> parseDType(std::string_view s) {
  if (s == "f32") return DType::F32;
  if (s == "f64") return DType::F64;
  if (s == "i32") return DType::I32;
  return std::nullopt;
}

std::size_t dtypeSize(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
  }
  return 0;
}

std::string Dim::str() const { return isSymbolic() ? symbol : std::to_string(size); }

std::string shapeStr(const Shape& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    out += s[i].str();
  }
  return out;
}

std::optional<std::int64_t> staticNumElements(const Shape& s) {
  std::int64_t n = 1;
  for (const Dim& d : s) {
    if (d.isSymbolic()) return std::nullopt;
    n *= d.size;
  }
  return n;
}

std::string TensorType::str() const { return fmt::format("{}[{}]", dtypeName(dtype), shapeStr(shape)); }

std::string SourceLoc::str() const { return fmt::format("{}:{}:{}", file, line, col); }

std::optional<Shape> broadcastShapes(const Shape& a, const Shape& b) {
  // NumPy: align trailing dimensions; each pair must be equal or contain a 1.
  const std::size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const Dim* da = i < a.size() ? &a[a.size() - 1 - i] : nullptr;
    const Dim* db = i < b.size() ? &b[b.size() - 1 - i] : nullptr;
    Dim& o = out[rank - 1 - i];
    auto isOne = [](const Dim* d) { return !d->isSymbolic() && d->size == 1; };
    // A missing or size-1 axis takes the other's size; otherwise the two must agree.
    const bool takeB = !da || (db && !(*da == *db) && isOne(da));
    const bool takeA = da && (!db || *da == *db || isOne(db));
    if (!takeA && !takeB) return std::nullopt;
    o = takeB ? *db : *da;
  }
  return out;
}

}  // namespace sinter::ir
