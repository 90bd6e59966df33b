// `sinter dump`: every stage of the pipeline, readable.
#include <fmt/format.h>
#include <iostream>

#include "compiler/autodiff/autodiff.h"
#include "frontend/frontend.h"
#include "tools/sinter/commands.h"
#include "tools/sinter/pipeline.h"

namespace sinter::tool {

int runDump(const std::string& path, const DumpOptions& opts) {
  frontend::DiagnosticEngine diags;
  for (const std::string& stage : opts.stages) {
    if (stage == "ast") {
      auto ast = frontend::dumpAst(path, diags);
      if (!ast) return reportDiagnostics(diags);
      fmt::print("{}", *ast);
      continue;
    }
    // "graph" and "grad" show the graphs as built, "opt" after the graph passes.
    auto m = compileModel(path, diags, {.optimize = stage != "graph" && stage != "grad"});
    if (!m) return reportDiagnostics(diags);
    if (stage == "graph") {
      fmt::print("// forward graph\n{}", ir::print(m->forward));
    } else if (stage == "grad" || stage == "opt") {
      if (!m->train) {
        fmt::print(stderr, "error: {} has no train block, so there is no backward graph\n", path);
        return 1;
      }
      fmt::print("// training step: forward and backward{}\n{}", stage == "opt" ? ", after graph passes" : "",
                 ir::print(m->trainStep));
    } else if (stage == "llvm") {
      fmt::print("{}", codegen::emitLLVMText(*m, opts.codegen));
    } else if (stage == "asm") {
      fmt::print("{}", codegen::emitAssembly(*m, opts.codegen));
    } else {
      fmt::print(stderr, "error: unknown stage '{}' (stages: ast, graph, grad, opt, llvm, asm)\n", stage);
      return 1;
    }
  }
  return 0;
}

}  // namespace sinter::tool
