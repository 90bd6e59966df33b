#include "compiler/passes/pass_manager.h"

#include "compiler/passes/rewrite.h"

#include <fmt/format.h>
#include <algorithm>
#include <map>
#include <stdexcept>

namespace sinter::passes {
namespace {

constexpr int kMaxFixedPointRounds = 16;

void checkNames(const std::vector<PipelineEntry>& pipeline, const PassManagerOptions& opts) {
  std::vector<std::string> named = opts.printAfter;
  if (!opts.stopAfter.empty()) named.push_back(opts.stopAfter);
  for (const std::string& name : named) {
    if (std::any_of(pipeline.begin(), pipeline.end(), [&](const PipelineEntry& e) { return e.pass.name == name; }))
      continue;
    std::string known;
    for (const PipelineEntry& e : pipeline)
      if (known.find(e.pass.name) == std::string::npos) known += (known.empty() ? "" : ", ") + std::string(e.pass.name);
    throw std::runtime_error(fmt::format("no pass named '{}' in the pipeline (passes: {})", name, known));
  }
}

// Ops of the nodes some result depends on: the rewriting passes leave dead nodes for dce, and what
// they did shows in the live ones.
std::map<std::string_view, int> opCounts(const ir::Graph& g) {
  const ir::NodeMap<bool> live = reachableFromResults(g);
  std::map<std::string_view, int> counts;
  for (const ir::Node& n : g.nodes)
    if (live[n.id]) ++counts[ir::opName(n.op)];
  return counts;
}

// What a pass did to the live nodes, by op: "-1 softmax, +2 matmul_tn, -2 matmul".
std::string opDelta(const std::map<std::string_view, int>& before, std::size_t nodesBefore, const ir::Graph& g) {
  std::map<std::string_view, int> delta = before;
  for (const auto& [op, n] : opCounts(g)) delta[op] -= n;
  std::string out;
  for (const auto& [op, d] : delta)
    if (d) out += fmt::format("{}{:+d} {}", out.empty() ? "" : ", ", -d, op);
  if (!out.empty()) return out;
  const std::size_t removed = nodesBefore - std::min(nodesBefore, g.nodes.size());
  return removed ? fmt::format("{} unused node{} removed", removed, removed == 1 ? "" : "s")
                 : "same ops: operands or order changed";
}

void verifyAfter(const ir::Graph& g, std::string_view pass) {
  auto errs = ir::verify(g);
  if (errs.empty()) return;
  std::string msg = fmt::format("graph @{} is invalid after pass '{}':", g.name, pass);
  for (const auto& e : errs) msg += "\n  " + e;
  throw std::logic_error(msg);
}

}  // namespace

std::vector<PassRun> runPipeline(ir::Graph& g, const std::vector<PipelineEntry>& pipeline,
                                 const PassManagerOptions& opts, std::ostream& log) {
  checkNames(pipeline, opts);
  std::vector<PassRun> report;
  for (const PipelineEntry& e : pipeline) {
    PassRun run{std::string(e.pass.name)};
    run.nodesBefore = g.nodes.size();
    const auto countsBefore = opCounts(g);
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      ++run.runs;
      const bool changed = e.pass.run(g);
      run.changed |= changed;
      if (opts.verifyEach) verifyAfter(g, e.pass.name);
      if (!changed || e.repeat == Repeat::Once) break;
      if (run.runs == kMaxFixedPointRounds)
        throw std::logic_error(fmt::format("pass '{}' did not reach a fixed point in {} runs", e.pass.name, run.runs));
    }
    run.time = std::chrono::steady_clock::now() - start;
    run.nodesAfter = g.nodes.size();
    const bool named = opts.printAfterAll ||
                       std::find(opts.printAfter.begin(), opts.printAfter.end(), e.pass.name) != opts.printAfter.end();
    if (named || opts.printChanged) {
      // Halide's habit: say "(unchanged)" rather than print the same graph again.
      if (!run.changed) {
        log << fmt::format("// ----- {}: (unchanged)\n", e.pass.name);
      } else {
        log << fmt::format("// ----- after {}{}: {} nodes, was {} ({})\n", e.pass.name,
                           run.runs > 1 ? fmt::format(" ({} runs to a fixed point)", run.runs) : "", run.nodesAfter,
                           run.nodesBefore, opDelta(countsBefore, run.nodesBefore, g));
        log << ir::print(g);
      }
    }
    report.push_back(std::move(run));
    if (e.pass.name == opts.stopAfter) {
      log << fmt::format("// ----- stopped after {}\n", e.pass.name);
      break;
    }
  }
  if (opts.timePasses) {
    std::chrono::duration<double> total{};
    for (const PassRun& r : report) total += r.time;
    log << "// ----- pass timing\n//   pass              runs  changed      ms       %\n";
    for (const PassRun& r : report)
      log << fmt::format("//   {:<16} {:>5}  {:>7} {:>7.3f} {:>7.1f}\n", r.name, r.runs, r.changed ? "yes" : "no",
                         r.time.count() * 1e3, total.count() > 0 ? 100 * r.time.count() / total.count() : 0.0);
    log << fmt::format("//   {:<16} {:>5}  {:>7} {:>7.3f}\n", "total", "", "", total.count() * 1e3);
  }
  return report;
}

}  // namespace sinter::passes
