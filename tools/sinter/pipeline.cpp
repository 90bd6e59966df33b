#include "tools/sinter/pipeline.h"

#include <fmt/format.h>
#include <iostream>
#include <stdexcept>

#include "compiler/autodiff/autodiff.h"
#include "compiler/passes/dce.h"
#include "frontend/frontend.h"

namespace sinter::tool {
namespace {

void verifyOrThrow(const ir::Graph& g, const char* stage) {
  auto errs = ir::verify(g);
  if (errs.empty()) return;
  std::string msg = fmt::format("internal error: graph @{} is invalid after {}:", g.name, stage);
  for (const auto& e : errs) msg += "\n  " + e;
  throw std::logic_error(msg);
}

}  // namespace

std::optional<ir::Module> compileModel(const std::string& path, frontend::DiagnosticEngine& diags,
                                       const PipelineOptions& opts) {
  std::optional<ir::Module> m = frontend::compileFile(path, diags);
  if (!m || diags.hasErrors()) return std::nullopt;
  verifyOrThrow(m->forward, "the frontend");
  if (m->train) {
    m->trainStep = autodiff::buildTrainStep(m->forward, m->train->loss);
    verifyOrThrow(m->trainStep, "autodiff");
    if (opts.optimize) {
      passes::eliminateDeadCode(m->trainStep);
      verifyOrThrow(m->trainStep, "dce");
    }
  }
  return m;
}

int reportDiagnostics(const frontend::DiagnosticEngine& diags) {
  diags.print(std::cerr);
  return 1;
}

}  // namespace sinter::tool
