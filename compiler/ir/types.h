// Element types, dimensions (fixed or symbolic), shapes and source locations of the Graph IR.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sinter::ir {

enum class DType : std::uint8_t { F32, F64, I32 };

std::string_view dtypeName(DType t);
std::optional<DType> parseDType(std::string_view s);
std::size_t dtypeSize(DType t);
inline bool isFloat(DType t) { return t == DType::F32 || t == DType::F64; }

// A dimension is either a fixed extent or a symbol (such as `batch`) bound at run time.
struct Dim {
  std::int64_t size = 0;  // meaningful when symbol is empty
  std::string symbol;     // non-empty for a symbolic dimension

  static Dim fixed(std::int64_t n) { return Dim{n, {}}; }
  static Dim sym(std::string name) { return Dim{0, std::move(name)}; }
  bool isSymbolic() const { return !symbol.empty(); }
  bool operator==(const Dim& o) const { return size == o.size && symbol == o.symbol; }
  std::string str() const;
};

using Shape = std::vector<Dim>;

std::string shapeStr(const Shape& s);  // "batch,784"
// Number of elements when every dimension is fixed.
std::optional<std::int64_t> staticNumElements(const Shape& s);

struct TensorType {
  DType dtype = DType::F32;
  Shape shape;
  bool operator==(const TensorType& o) const { return dtype == o.dtype && shape == o.shape; }
  std::string str() const;  // "f32[batch,784]", "f32[]" for a scalar
};

struct SourceLoc {
  std::string file;
  int line = 0;
  int col = 0;
  bool valid() const { return line > 0; }
  std::string str() const;  // "file:line:col"
};

// NumPy broadcasting of two shapes; nullopt when they are incompatible.
std::optional<Shape> broadcastShapes(const Shape& a, const Shape& b);

}  // namespace sinter::ir
