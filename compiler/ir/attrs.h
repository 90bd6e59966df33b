// Op attributes: the compile-time parameters of a node (axes, strides, a slope), printed in braces after
// its operands: `reduce_sum(%3) {axes = [0], keepdims = 0}`.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace sinter::ir {

using AttrValue = std::variant<std::int64_t, double, std::vector<std::int64_t>>;

enum class AttrKind { Int, Float, Ints };

struct AttrSpec {
  const char* name;
  AttrKind kind;
  // The value a builtin of the language passes when the call leaves it out (leaky_relu's alpha = 0.01);
  // none: the argument is required.
  std::optional<double> fallback = std::nullopt;
};

class Attrs {
 public:
  // Attrs::of({{"axis", 1}, {"keepdims", 0}})
  static Attrs of(std::initializer_list<std::pair<const std::string, AttrValue>> values) {
    Attrs a;
    a.values_ = values;
    return a;
  }
  void set(const std::string& name, AttrValue v) { values_[name] = std::move(v); }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  // Typed getters; they throw std::logic_error when the attribute is missing or of another kind.
  std::int64_t getInt(const std::string& name) const;
  double getFloat(const std::string& name) const;
  const std::vector<std::int64_t>& getInts(const std::string& name) const;
  // Element i of an ints attribute (the stride of axis i, ...); throws std::logic_error past its end.
  std::int64_t getInt(const std::string& name, std::size_t i) const;
  const std::map<std::string, AttrValue>& all() const { return values_; }
  bool operator==(const Attrs& o) const { return values_ == o.values_; }
  std::string str() const;  // "{axes = [0], keepdims = 0}", empty when there are none

 private:
  std::map<std::string, AttrValue> values_;
};

std::string attrValueStr(const AttrValue& v);
bool attrMatches(const AttrValue& v, AttrKind k);

}  // namespace sinter::ir
