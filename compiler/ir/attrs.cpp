#include "compiler/ir/attrs.h"

#include <fmt/format.h>
#include <stdexcept>

namespace sinter::ir {

namespace {
template <class T>
const T& get(const std::map<std::string, AttrValue>& m, const std::string& name, const char* kind) {
  auto it = m.find(name);
  if (it == m.end()) throw std::logic_error("missing attribute '" + name + "'");
  const T* v = std::get_if<T>(&it->second);
  if (!v) throw std::logic_error(fmt::format("attribute '{}' is not {}", name, kind));
  return *v;
}
}  // namespace

std::int64_t Attrs::getInt(const std::string& name) const { return get<std::int64_t>(values_, name, "an integer"); }
double Attrs::getFloat(const std::string& name) const { return get<double>(values_, name, "a float"); }
const std::vector<std::int64_t>& Attrs::getInts(const std::string& name) const {
  return get<std::vector<std::int64_t>>(values_, name, "a list of integers");
}
std::int64_t Attrs::getInt(const std::string& name, std::size_t i) const {
  const std::vector<std::int64_t>& v = getInts(name);
  if (i >= v.size()) throw std::logic_error(fmt::format("attribute '{}' has {} values, not {}", name, v.size(), i + 1));
  return v[i];
}

std::string attrValueStr(const AttrValue& v) {
  if (auto i = std::get_if<std::int64_t>(&v)) return std::to_string(*i);
  if (auto d = std::get_if<double>(&v)) {
    std::string s = fmt::format("{}", *d);
    // A float always prints with a '.' or an exponent, so that it parses back as a float.
    if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
    return s;
  }
  const auto& list = std::get<std::vector<std::int64_t>>(v);
  return fmt::format("[{}]", fmt::join(list, ", "));
}

bool attrMatches(const AttrValue& v, AttrKind k) {
  switch (k) {
    case AttrKind::Int: return std::holds_alternative<std::int64_t>(v);
    case AttrKind::Float: return std::holds_alternative<double>(v);
    case AttrKind::Ints: return std::holds_alternative<std::vector<std::int64_t>>(v);
  }
  return false;
}

std::string Attrs::str() const {
  if (values_.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : values_) {
    out += fmt::format("{}{} = {}", first ? "" : ", ", k, attrValueStr(v));
    first = false;
  }
  return out + "}";
}

}  // namespace sinter::ir
