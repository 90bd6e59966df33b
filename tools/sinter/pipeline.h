// The compiler pipeline shared by the sub-commands: frontend, autodiff, graph passes, verification.
#pragma once

#include <optional>
#include <string>

#include "compiler/ir/module.h"
#include "frontend/diagnostics.h"

namespace sinter::tool {

struct PipelineOptions {
  bool optimize = true;  // run the graph passes on the train step
};

// Compiles a model file up to optimized Graph IR. Diagnostics go to `diags`; returns nullopt on error.
// A graph that fails the verifier is a compiler bug and throws std::logic_error.
std::optional<ir::Module> compileModel(const std::string& path, frontend::DiagnosticEngine& diags,
                                       const PipelineOptions& opts = {});

// Exit status 1 after printing diagnostics to stderr.
int reportDiagnostics(const frontend::DiagnosticEngine& diags);

}  // namespace sinter::tool
