// `sinter dump`: every stage of the pipeline, readable. Takes a model (.sn) or Graph IR (.ir): IR
// files go through the same graph passes, which is how the golden tests of the passes run.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <iostream>

#include "compiler/autodiff/autodiff.h"
#include "compiler/codegen/emit_kernels.h"
#include "compiler/codegen/emit_module.h"
#include "compiler/codegen/kernel_plan.h"
#include "compiler/codegen/target.h"
#include "compiler/ir/dot.h"
#include "compiler/lower/memory_plan.h"
#include "compiler/passes/fusion_groups.h"
#include "compiler/passes/pipeline.h"
#include "frontend/frontend.h"
#include "tools/sinter/commands.h"
#include "tools/sinter/pipeline.h"

namespace sinter::tool {
namespace {

std::string show(const ir::Graph& g, const DumpOptions& opts) {
  return opts.format == "dot" ? ir::printDot(g) : ir::print(g);
}

std::string codegenReport(const ir::Graph& g, const std::vector<ir::FusionGroup>& groups);

// The optimized graph with its fusion groups: listed after the graph in `//` comments (so the text still
// parses), or drawn as boxes in DOT.
std::string fusionStage(const ir::Graph& g, const DumpOptions& opts) {
  const std::vector<ir::FusionGroup> groups = passes::findFusionGroups(g);
  if (opts.format != "dot") return ir::print(g) + passes::fusionReport(g, groups) + codegenReport(g, groups);
  std::vector<ir::DotBox> boxes;
  for (std::size_t i = 0; i < groups.size(); ++i)
    boxes.push_back({fmt::format("group {}: {}", i, ir::kernelKindName(groups[i].kind)), groups[i].nodes});
  return ir::printDot(g, boxes);
}

// Which groups code generation emits as one kernel (codegen::fusedKernels), and the kernel count.
std::string codegenReport(const ir::Graph& g, const std::vector<ir::FusionGroup>& groups) {
  const std::vector<ir::FusionGroup> kernels = codegen::fusedKernels(g);
  std::string fused;
  std::size_t members = 0, computed = 0;
  for (std::size_t i = 0; i < groups.size(); ++i)
    for (const ir::FusionGroup& k : kernels)
      if (k.nodes == groups[i].nodes) fused += fmt::format("{}{}", fused.empty() ? "" : ", ", i);
  for (const ir::FusionGroup& k : kernels) members += k.nodes.size();
  for (const ir::Node& n : g.nodes) computed += !(opDef(n.op).flags & ir::kLeaf);
  return fmt::format(
      "// code generation fuses group{} {}; the rest run one kernel per node: {} kernels for {} computed nodes\n",
      kernels.size() == 1 ? "" : "s", fused.empty() ? "none" : fused, computed - members + kernels.size(), computed);
}

// --bind batch=64,seq=128; symbols left unbound take `fallback`.
lower::Bindings bindings(const ir::Graph& g, const DumpOptions& opts, std::int64_t fallback) {
  lower::Bindings b;
  for (const std::string& s : opts.bindings) {
    const auto eq = s.find('=');
    std::int64_t v = 0;
    try {
      v = eq == std::string::npos ? 0 : std::stoll(s.substr(eq + 1));
    } catch (const std::exception&) {
    }
    if (eq == std::string::npos || eq == 0 || v < 1)
      throw std::runtime_error(fmt::format("--bind wants SYMBOL=N with N >= 1, not '{}'", s));
    b[s.substr(0, eq)] = v;
  }
  for (const std::string& sym : g.symbols()) b.emplace(sym, fallback);
  return b;
}

std::string memoryStage(const ir::Graph& g, const DumpOptions& opts, std::int64_t fallback) {
  const lower::Bindings b = bindings(g, opts, fallback);
  return lower::memoryReport(g, lower::planMemory(g, b, codegen::fusedKernels(g)), b);
}

// The kernel program of the optimized train step, for the target of the codegen options.
std::string kernelStage(const ir::Graph& g, const DumpOptions& opts, std::int64_t fallback) {
  const lower::Bindings b = bindings(g, opts, fallback);
  const codegen::KernelProgram program = codegen::planKernels(g);
  const int lanes = codegen::vectorFloats(*codegen::createTargetMachine(opts.codegen));
  return codegen::printKernels(g, program, lower::planMemory(g, b, program.kernels), b, lanes);
}

// `.ir` input: the graphs as parsed (graph), differentiated (grad, for a graph with a loss and no
// gradients yet), after the passes (opt), with fusion groups (fusion) and their memory plan (memory).
int dumpIr(const std::string& path, const DumpOptions& opts) {
  auto graphs = loadIrFile(path);
  if (!graphs) return 1;
  for (const std::string& stage : opts.stages) {
    for (const ir::Graph& parsed : *graphs) {
      if (stage == "graph") {
        fmt::print("{}", show(parsed, opts));
      } else if (stage == "grad") {
        const ir::Result* loss = nullptr;
        for (const ir::Result& r : parsed.results)
          if (r.kind == ir::Result::Loss && !loss) loss = &r;
        if (!loss) throw std::runtime_error(fmt::format("@{} has no loss result to differentiate", parsed.name));
        ir::Graph step = autodiff::buildTrainStep(parsed, loss->name);
        fmt::print("{}", show(step, opts));
      } else if (stage == "opt" || stage == "memory" || stage == "fusion" || stage == "kernel") {
        ir::Graph g = parsed;
        optimizeGraph(g, opts.pipeline);
        fmt::print("{}", stage == "opt"      ? show(g, opts)
                         : stage == "fusion" ? fusionStage(g, opts)
                         : stage == "kernel" ? kernelStage(g, opts, 64)
                                             : memoryStage(g, opts, 64));
      } else {
        fmt::print(stderr,
                   "error: stage '{}' needs a model file; a .ir file has graph, grad, opt, fusion, kernel and memory\n",
                   stage);
        return 1;
      }
    }
  }
  return 0;
}

}  // namespace

void addDumpFlags(CLI::App* cmd, DumpOptions& opts) {
  passes::PassManagerOptions& p = opts.pipeline.passes;
  cmd->add_flag("--print-after-all", p.printAfterAll, "Print the graph after every pass (to stderr)");
  cmd->add_option("--print-after", p.printAfter, "Print the graph after these passes (comma-separated)")
      ->delimiter(',');
  cmd->add_flag("--print-changed", p.printChanged,
                "Print the graph after every pass that changed it, '(unchanged)' otherwise");
  cmd->add_option("--stop-after", p.stopAfter, "Stop the pass pipeline after this pass");
  cmd->add_flag("--time-passes", p.timePasses, "Print the time each pass took");
  cmd->add_flag("--verify-each", p.verifyEach, "Run the IR verifier after every pass");
  cmd->add_option(
         "--passes", opts.pipeline.passList,
         "Run these passes once each, in this order, instead of the pipeline (comma-separated: simplify, fold, "
         "cse, dce, schedule)")
      ->delimiter(',');
  cmd->add_option("--format", opts.format, "Format of graph stages: text or dot (graphviz)")
      ->check(CLI::IsMember({"text", "dot"}))
      ->capture_default_str();
  cmd->add_option("--bind", opts.bindings,
                  "Values of symbolic dimensions for --stage=memory, e.g. batch=64 (default: the train block's batch)")
      ->delimiter(',');
}

int runDump(const std::string& path, const DumpOptions& opts) {
  if (isIrFile(path)) return dumpIr(path, opts);
  frontend::DiagnosticEngine diags;
  std::optional<ir::Module> built, optimized;  // compiled once, when a stage first needs them
  for (const std::string& stage : opts.stages) {
    if (stage == "ast") {
      auto ast = frontend::dumpAst(path, diags);
      if (!ast) return reportDiagnostics(diags);
      fmt::print("{}", *ast);
      continue;
    }
    static const char* const known[] = {"graph", "grad", "opt", "fusion", "kernel", "memory", "llvm", "asm"};
    if (std::find(std::begin(known), std::end(known), stage) == std::end(known)) {
      fmt::print(stderr,
                 "error: unknown stage '{}' (stages: ast, graph, grad, opt, fusion, kernel, memory, llvm, asm)\n",
                 stage);
      return 1;
    }
    if (!built) {
      PipelineOptions raw = opts.pipeline;
      raw.optimize = false;
      built = compileModel(path, diags, raw);
      if (!built) return reportDiagnostics(diags);
    }
    if (stage == "graph") {
      fmt::print("{}{}", opts.format == "dot" ? "" : "// forward graph\n", show(built->forward, opts));
      continue;
    }
    if (stage == "grad" && !built->train) {
      fmt::print(stderr, "error: {} has no train block, so there is no backward graph\n", path);
      return 1;
    }
    if (stage == "grad") {
      fmt::print("{}{}", opts.format == "dot" ? "" : "// training step: forward and backward\n",
                 show(built->trainStep, opts));
      continue;
    }
    if (!optimized) {
      optimized = built;
      if (optimized->train) optimizeGraph(optimized->trainStep, opts.pipeline);
      optimizeGraph(optimized->forward, opts.pipeline);
    }
    // The stages after the graph passes show the train step, or the forward graph of a model without one.
    const ir::Graph& shown = optimized->train ? optimized->trainStep : optimized->forward;
    const std::int64_t batch = optimized->train ? optimized->train->batch : 64;
    if (stage == "opt") {
      fmt::print("{}{}",
                 opts.format == "dot" ? ""
                 : optimized->train   ? "// training step: forward and backward, after graph passes\n"
                                      : "// forward graph, after graph passes\n",
                 show(shown, opts));
    } else if (stage == "fusion") {
      fmt::print("{}", fusionStage(shown, opts));
    } else if (stage == "memory") {
      fmt::print("{}", memoryStage(shown, opts, batch));
    } else if (stage == "kernel") {
      fmt::print("{}", kernelStage(shown, opts, batch));
    } else if (stage == "llvm") {
      fmt::print("{}", codegen::emitLLVMText(*optimized, opts.codegen));
    } else {
      fmt::print("{}", codegen::emitAssembly(*optimized, opts.codegen));
    }
  }
  // `sinter dump --print-changed model.sn`: the pass log was asked for, so run the passes for it even
  // when no stage printed needs them.
  const passes::PassManagerOptions& p = opts.pipeline.passes;
  if ((p.printAfterAll || p.printChanged || !p.printAfter.empty() || p.timePasses) && !optimized && built &&
      built->train) {
    ir::Graph g = built->trainStep;
    optimizeGraph(g, opts.pipeline);
  }
  return 0;
}

}  // namespace sinter::tool
