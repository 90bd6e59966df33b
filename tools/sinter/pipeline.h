// The compiler pipeline shared by the sub-commands: frontend, autodiff, graph passes, verification.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/module.h"
#include "compiler/passes/pass_manager.h"
#include "frontend/diagnostics.h"

namespace sinter::tool {

struct PipelineOptions {
  bool optimize = true;               // run the graph passes on the train step
  passes::PassManagerOptions passes;  // --print-after-all and friends
  std::vector<std::string> passList;  // --passes: run these passes once each instead of the pipeline
  std::ostream* log = nullptr;        // where the pass manager writes (default: stderr)
};

// Compiles a model file up to optimized Graph IR. Diagnostics go to `diags`; returns nullopt on error.
// A graph that fails the verifier is a compiler bug and throws std::logic_error.
std::optional<ir::Module> compileModel(const std::string& path, frontend::DiagnosticEngine& diags,
                                       const PipelineOptions& opts = {});

// Runs the graph pass pipeline (compiler/passes/pipeline.cpp) on g and verifies the result.
void optimizeGraph(ir::Graph& g, const PipelineOptions& opts);

// True for a file of Graph IR in its textual form (a `.ir` file) rather than a model.
bool isIrFile(const std::string& path);

// Reads the graphs of a `.ir` file, verified; prints every parse error to stderr and returns nullopt.
std::optional<std::vector<ir::Graph>> loadIrFile(const std::string& path);

// Exit status 1 after printing diagnostics to stderr.
int reportDiagnostics(const frontend::DiagnosticEngine& diags);

}  // namespace sinter::tool
