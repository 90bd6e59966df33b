// Helpers shared by the frontend's tests: compile a source string and look at what came out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "frontend/frontend.h"

namespace sinter::frontend::test {

struct Compiled {
  std::optional<ir::Module> module;
  DiagnosticEngine diags;
  std::string text() const { return diags.str(); }
  // "m.sn:3:5: error: message" of the first diagnostic, or "" when none.
  std::string first() const {
    if (diags.all().empty()) return {};
    const Diagnostic& d = diags.all().front();
    const char* sev = d.severity == Diagnostic::Error ? "error" : d.severity == Diagnostic::Note ? "note" : "warning";
    return (d.loc.valid() ? d.loc.str() + ": " : "") + sev + ": " + d.message;
  }
};

inline Compiled compile(std::string_view src, const std::string& path = "m.sn") {
  Compiled c;
  c.module = compileSource(src, path, c.diags);
  return c;
}

// A model with a header and the given body lines, so that tests state only what matters. Line 1 is
// "model M {", so the body's first line is line 2.
inline std::string model(std::string_view body) { return "model M {\n" + std::string(body) + "}\n"; }

}  // namespace sinter::frontend::test
