// `sinter dump`: every stage of the pipeline (compiler/driver), readable. Takes a model (.sn) or Graph IR
// (.ir): IR files go through the same graph passes, which is how the golden tests of the passes run.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>

#include "compiler/codegen/emit_kernels.h"
#include "compiler/codegen/emit_module.h"
#include "compiler/codegen/grad_buckets.h"
#include "compiler/codegen/target.h"
#include "compiler/driver/compilation.h"
#include "compiler/ir/dot.h"
#include "compiler/passes/fusion_groups.h"
#include "tools/sinter/commands.h"

namespace sinter::tool {
namespace {

std::string show(const ir::Graph& g, const DumpOptions& opts) {
  return opts.format == "dot" ? ir::printDot(g) : ir::print(g);
}

std::string codegenReport(const ir::Graph& g, const std::vector<ir::FusionGroup>& groups);

// The optimized graph with its fusion groups: listed after the graph in `//` comments (so the text still
// parses), or drawn as boxes in DOT.
std::string fusionStage(driver::Compilation& c, const DumpOptions& opts) {
  const ir::Graph& g = c.subject();
  const std::vector<ir::FusionGroup> groups = c.fusionGroups();
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

// The bindings of the shown graph: --bind's, then the compilation's reference value (the train block's batch,
// else 64) for each symbol left unbound.
lower::Bindings bindings(driver::Compilation& c, const DumpOptions& opts) {
  lower::Bindings reference;
  const lower::Bindings all = c.referenceBindings();
  for (const std::string& sym : c.subject().symbols()) reference.emplace(sym, all.at(sym));
  return parseBindings(opts.bindings, reference);
}

std::string memoryStage(driver::Compilation& c, const DumpOptions& opts) {
  const lower::Bindings b = bindings(c, opts);
  return lower::memoryReport(c.subject(), c.memoryPlan(b), b);
}

// The kernel program of the shown graph, for the target of the codegen options.
std::string kernelStage(driver::Compilation& c, const DumpOptions& opts) {
  const lower::Bindings b = bindings(c, opts);
  const int lanes = codegen::vectorFloats(*codegen::createTargetMachine(opts.compile.codegen));
  const codegen::KernelProgram program = c.kernelProgram();
  const codegen::GradBuckets buckets =
      codegen::planGradBuckets(c.subject(), program, opts.compile.codegen.gradBucketBytes);
  return codegen::printKernels(c.subject(), program, c.memoryPlan(b), b, lanes, &buckets);
}

// The stages after the graph passes, which `.ir` files have too.
std::string laterStage(driver::Stage stage, driver::Compilation& c, const DumpOptions& opts) {
  using driver::Stage;
  if (stage == Stage::Fusion) return fusionStage(c, opts);
  if (stage == Stage::Kernel) return kernelStage(c, opts);
  if (stage == Stage::Memory) return memoryStage(c, opts);
  return show(c.subject(), opts);
}

// `.ir` input: the graphs as parsed (graph), differentiated (grad, for a graph with a loss and no
// gradients yet), after the passes (opt), with fusion groups (fusion), their kernels and memory plan.
int dumpIr(const std::string& path, const std::vector<driver::Stage>& stages, const DumpOptions& opts) {
  using driver::Stage;
  auto graphs = driver::loadIrFile(path);
  if (!graphs) return 1;
  for (Stage stage : stages) {
    if (stage == Stage::Ast || stage == Stage::Llvm || stage == Stage::Asm) {
      fmt::print(stderr,
                 "error: stage '{}' needs a model file; a .ir file has graph, grad, opt, fusion, kernel and memory\n",
                 driver::stageInfo(stage).name);
      return 1;
    }
    for (const ir::Graph& parsed : *graphs) {
      ir::Module m;
      m.name = parsed.name;
      m.forward = parsed;
      driver::Compilation c(std::move(m), opts.compile);
      if (stage == Stage::Graph) fmt::print("{}", show(c.graph().forward, opts));
      else if (stage == Stage::Grad) fmt::print("{}", show(c.grad().trainStep, opts));
      else fmt::print("{}", laterStage(stage, c, opts));
    }
  }
  return 0;
}

// The stages asked for by name, or an error naming the unknown one.
std::optional<std::vector<driver::Stage>> parseStages(const std::vector<std::string>& names) {
  std::vector<driver::Stage> out;
  for (const std::string& name : names) {
    auto s = driver::stageNamed(name);
    if (!s || !driver::stageInfo(*s).printable) {
      fmt::print(stderr, "error: {} stage '{}' (stages: {}){}\nRun 'sinter dump --help' for more information.\n",
                 s ? "cannot print the" : "unknown", name, driver::printableStageNames(),
                 s ? "; `sinter build --emit obj` writes an object file" : "");
      return std::nullopt;
    }
    out.push_back(*s);
  }
  return out;
}

// The printed form of one stage of a model file; nullopt after an error (printed, or the compilation's).
std::optional<std::string> stageText(driver::Stage stage, driver::Compilation& c, const std::string& path,
                                     const DumpOptions& opts) {
  using driver::Stage;
  if (stage == Stage::Ast) return c.ast();
  if (!c.ok()) return std::nullopt;
  const bool dot = opts.format == "dot";
  if (stage == Stage::Graph) {
    const ir::Module& m = c.graph();
    // A model with states or `training` has a train mode of its own; DOT gets one graph per output.
    if (!m.trainForward || dot) return (dot ? "" : "// forward graph\n") + show(m.forward, opts);
    return "// forward graph (inference: training = 0)\n" + show(m.forward, opts) +
           "// forward graph in train mode (training = 1; the states' next values), which autodiff "
           "differentiates\n" +
           show(*m.trainForward, opts);
  }
  if (stage == Stage::Grad) {
    if (!c.graph().train) {
      fmt::print(stderr, "error: {} has no train block, so there is no backward graph\n", path);
      return std::nullopt;
    }
    return (dot ? "" : "// training step: forward and backward\n") + show(c.grad().trainStep, opts);
  }
  if (stage == Stage::Llvm) return c.llvmText();
  if (stage == Stage::Asm) return c.assembly();
  // The stages after the graph passes show the train step, or the forward graph of a model without one.
  const char* title = c.graph().train ? "// training step: forward and backward, after graph passes\n"
                                      : "// forward graph, after graph passes\n";
  return (stage == Stage::Opt && !dot ? title : "") + laterStage(stage, c, opts);
}

// Graphs have a DOT form; the AST, kernels, memory plan, LLVM IR and assembly are text only.
bool checkDotStages(const std::vector<driver::Stage>& stages) {
  using driver::Stage;
  for (Stage s : stages)
    if (s != Stage::Graph && s != Stage::Grad && s != Stage::Opt && s != Stage::Fusion) {
      fmt::print(stderr,
                 "error: --format=dot: stage '{}' has no DOT form (graph, grad, opt and fusion have one)\n"
                 "Run 'sinter dump --help' for more information.\n",
                 driver::stageInfo(s).name);
      return false;
    }
  return true;
}

// <dir>/<model>.<stage>.dot
void writeDotFile(const std::string& path, driver::Stage stage, const std::string& text, const std::string& dir) {
  const std::filesystem::path out =
      std::filesystem::path(dir.empty() ? "." : dir) /
      fmt::format("{}.{}.dot", std::filesystem::path(path).stem().string(), driver::stageInfo(stage).name);
  std::ofstream os(out);
  os << text;
  if (!os.flush()) throw std::runtime_error(fmt::format("cannot write '{}'", out.string()));
  fmt::print(stderr, "wrote {}\n", out.string());
}

}  // namespace

lower::Bindings parseBindings(const std::vector<std::string>& specs, const lower::Bindings& defaults) {
  lower::Bindings b;
  for (const std::string& s : specs) {
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
  for (const auto& [sym, v] : defaults) b.emplace(sym, v);
  return b;
}

void addDumpFlags(CLI::App* cmd, DumpOptions& opts) {
  passes::PassManagerOptions& p = opts.compile.passes;
  cmd->add_flag("--print-after-all", p.printAfterAll, "Print the graph after every pass (to stderr)");
  cmd->add_option("--print-after", p.printAfter, "Print the graph after these passes (comma-separated)")
      ->delimiter(',');
  cmd->add_flag("--print-changed", p.printChanged,
                "Print the graph after every pass that changed it, '(unchanged)' otherwise");
  cmd->add_option("--stop-after", p.stopAfter, "Stop the pass pipeline after this pass");
  cmd->add_flag("--time-passes", p.timePasses, "Print the time each pass took");
  cmd->add_flag("--verify-each", p.verifyEach, "Run the IR verifier after every pass");
  cmd->add_option("--passes", opts.compile.passList,
                  "Run these passes once each, in this order, instead of the pipeline (comma-separated: simplify, "
                  "fold, loops, cse, dce, schedule)")
      ->delimiter(',');
  cmd->add_option("--format", opts.format, "Format of graph stages: text or dot (graphviz)")
      ->check(CLI::IsMember({"text", "dot"}))
      ->capture_default_str();
  cmd->add_option("--dot-dir", opts.outputDir,
                  "With --format=dot and several stages: the directory of their files, <model>.<stage>.dot "
                  "(default: the current one)");
  cmd->add_option("--bind", opts.bindings,
                  "Values of symbolic dimensions for --stage=memory, e.g. batch=64 (default: the train block's batch)")
      ->delimiter(',');
}

int runDump(const std::string& path, const DumpOptions& opts) {
  using driver::Stage;
  const auto stages = parseStages(opts.stages);
  if (!stages) return 2;  // a usage error, like --format=dot on a stage without a DOT form
  if (opts.format == "dot" && !checkDotStages(*stages)) return 2;
  if (driver::isIrFile(path)) return dumpIr(path, *stages, opts);
  driver::Compilation c(path, opts.compile);
  // Several DOT graphs in one stream would not be one file graphviz reads: each stage gets its own file.
  const bool dotFiles = opts.format == "dot" && stages->size() > 1;
  bool optimized = false;
  for (Stage stage : *stages) {
    const std::optional<std::string> text = stageText(stage, c, path, opts);
    if (!text) return c.ok() ? 1 : c.reportErrors();
    if (dotFiles) writeDotFile(path, stage, *text, opts.outputDir);
    else fmt::print("{}", *text);
    optimized = optimized || stage >= Stage::Opt;
  }
  // `sinter dump --print-changed model.sn`: the pass log was asked for, so run the passes for it even
  // when no stage printed needs them.
  const passes::PassManagerOptions& p = opts.compile.passes;
  if ((p.printAfterAll || p.printChanged || !p.printAfter.empty() || p.timePasses) && !optimized && c.ok() &&
      c.graph().train)
    c.optimized();
  return 0;
}

}  // namespace sinter::tool
