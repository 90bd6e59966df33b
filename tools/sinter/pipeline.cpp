#include "tools/sinter/pipeline.h"

#include <fmt/format.h>
#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "compiler/autodiff/autodiff.h"
#include "compiler/ir/parser.h"
#include "compiler/passes/pipeline.h"
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

void optimizeGraph(ir::Graph& g, const PipelineOptions& opts) {
  std::vector<passes::PipelineEntry> custom;
  for (const std::string& name : opts.passList) {
    const auto& all = passes::allPasses();
    auto it = std::find_if(all.begin(), all.end(), [&](const passes::Pass& p) { return p.name == name; });
    if (it == all.end()) {
      std::string known;
      for (const passes::Pass& p : all) known += (known.empty() ? "" : ", ") + std::string(p.name);
      throw std::runtime_error(fmt::format("unknown pass '{}' (passes: {})", name, known));
    }
    custom.push_back({*it, passes::Repeat::Once, "asked for with --passes"});
  }
  passes::runPipeline(g, opts.passList.empty() ? passes::defaultPipeline() : custom, opts.passes,
                      opts.log ? *opts.log : std::cerr);
  verifyOrThrow(g, "the graph passes");
}

std::optional<ir::Module> compileModel(const std::string& path, frontend::DiagnosticEngine& diags,
                                       const PipelineOptions& opts) {
  std::optional<ir::Module> m = frontend::compileFile(path, diags);
  if (!m || diags.hasErrors()) return std::nullopt;
  verifyOrThrow(m->forward, "the frontend");
  if (m->train) {
    m->trainStep = autodiff::buildTrainStep(m->forward, m->train->loss);
    verifyOrThrow(m->trainStep, "autodiff");
    if (opts.optimize) optimizeGraph(m->trainStep, opts);
  }
  // The forward graph (inference, sinter_forward) gets the same passes, after autodiff has read it: they
  // keep its inputs, params and results, so the ABI does not change.
  if (opts.optimize) optimizeGraph(m->forward, opts);
  return m;
}

bool isIrFile(const std::string& path) { return path.size() > 3 && path.compare(path.size() - 3, 3, ".ir") == 0; }

std::optional<std::vector<ir::Graph>> loadIrFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  std::vector<ir::ParseError> errs;
  std::vector<ir::Graph> graphs = ir::parseGraphs(text.str(), path, errs);
  for (const ir::ParseError& e : errs) fmt::print(stderr, "{}\n", e.str);
  if (!errs.empty()) {
    fmt::print(stderr, "{} error{} in {}\n", errs.size(), errs.size() == 1 ? "" : "s", path);
    return std::nullopt;
  }
  if (graphs.empty()) {
    fmt::print(stderr, "error: {}: no graph in the file\n", path);
    return std::nullopt;
  }
  // The parser checks every node's type; the verifier checks the whole-graph invariants too.
  for (const ir::Graph& g : graphs) {
    auto bad = ir::verify(g);
    for (const auto& e : bad) fmt::print(stderr, "{}: error: @{}: {}\n", path, g.name, e);
    if (!bad.empty()) return std::nullopt;
  }
  return graphs;
}

int reportDiagnostics(const frontend::DiagnosticEngine& diags) {
  diags.print(std::cerr);
  return 1;
}

}  // namespace sinter::tool
