// The values of a model by name: inputs, params and assigned values share one namespace.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/ast.h"

namespace sinter::frontend {

struct Symbol {
  const ast::Decl* decl = nullptr;
  std::optional<ir::TensorType> type;  // nullopt: the error type, whose uses report nothing more
};

class Scope {
 public:
  const Symbol* find(std::string_view name) const {
    auto it = symbols_.find(name);
    return it == symbols_.end() ? nullptr : &it->second;
  }
  // False when the name is taken.
  bool add(const ast::Decl& d, std::optional<ir::TensorType> type) {
    if (!symbols_.emplace(d.name, Symbol{&d, std::move(type)}).second) return false;
    order_.push_back(d.name);
    return true;
  }
  bool add(const std::string& name, const ast::Decl& d, std::optional<ir::TensorType> type) {
    if (!symbols_.emplace(name, Symbol{&d, std::move(type)}).second) return false;
    order_.push_back(name);
    return true;
  }
  // In order of definition, for "did you mean".
  std::vector<std::string_view> names() const { return {order_.begin(), order_.end()}; }

 private:
  std::map<std::string, Symbol, std::less<>> symbols_;
  std::vector<std::string> order_;
};

}  // namespace sinter::frontend
