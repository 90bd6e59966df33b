#include "frontend/reporter.h"

#include <algorithm>

namespace sinter::frontend {

int Reporter::length(Range r) const {
  if (r.end.line == r.begin.line) return std::max(1, r.end.col - r.begin.col);
  const int lineLen = static_cast<int>(file_.line(r.begin.line).size());
  return std::max(1, lineLen - r.begin.col + 1);
}

Diagnostic Reporter::make(Diagnostic::Severity s, Range at, std::string message) const {
  return {s, file_.loc(at.begin), length(at), std::move(message), {}};
}

void Reporter::error(Range at, std::string message, const std::vector<Range>& highlights) {
  Diagnostic d = make(Diagnostic::Error, at, std::move(message));
  for (const Range& h : highlights) d.highlights.push_back({h.begin.line, h.begin.col, length(h)});
  diags_.report(std::move(d));
}

void Reporter::warning(Range at, std::string message) {
  diags_.report(make(Diagnostic::Warning, at, std::move(message)));
}

void Reporter::note(Range at, std::string message) { diags_.report(make(Diagnostic::Note, at, std::move(message))); }

void Reporter::fileError(std::string message) {
  diags_.report({Diagnostic::Error, {file_.name(), 0, 0}, 1, std::move(message), {}});
}

std::string quoted(std::string_view name) {
  constexpr std::size_t kMax = 48;
  if (name.size() <= kMax) return "'" + std::string(name) + "'";
  return "'" + std::string(name.substr(0, kMax)) + "...'";
}

}  // namespace sinter::frontend
