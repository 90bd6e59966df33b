// The frontend's entry points: model source text in, a checked ir::Module (forward graph and train config)
// or located diagnostics out.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "compiler/ir/module.h"
#include "frontend/diagnostics.h"

namespace sinter::frontend {

// Parses, resolves and shape-checks a model file and builds its forward graph. The Module's
// trainStep graph is left empty (autodiff builds it). Returns nullopt when any error was reported.
std::optional<ir::Module> compileFile(const std::string& path, DiagnosticEngine& diags);
std::optional<ir::Module> compileSource(std::string_view text, const std::string& path, DiagnosticEngine& diags);

// The syntax tree of a file, printed for `sinter dump --stage=ast`; nullopt after a syntax error.
std::optional<std::string> dumpAst(const std::string& path, DiagnosticEngine& diags);
std::optional<std::string> dumpAstSource(std::string_view text, const std::string& path, DiagnosticEngine& diags);

}  // namespace sinter::frontend
