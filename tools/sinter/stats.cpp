// `sinter stats`: what one call of a model's entry points must compute and read, from its optimized graphs:
// the FLOPs of every matrix product and convolution (compiler/lower/flop_count.h) and the bytes of the
// weights each graph reads. tools/bench divides them by measured times for the fraction of the machine's FMA
// peak and of its cache bandwidth; `--json` is the form it reads.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <set>

#include "compiler/lower/flop_count.h"
#include "tools/sinter/commands.h"

namespace sinter::tool {
namespace {

struct GraphStats {
  lower::FlopCount flops;
  std::int64_t weights = 0, weightBytes = 0;  // the params the graph reads: elements and bytes
};

GraphStats graphStats(const ir::Graph& g, const lower::Bindings& b) {
  GraphStats s{lower::countFlops(g, b)};
  std::set<ir::NodeId> read;
  for (const ir::Node& n : g.nodes) read.insert(n.operands.begin(), n.operands.end());
  for (const ir::Result& r : g.results) read.insert(r.node);
  for (ir::NodeId p : g.params) {
    if (!read.count(p)) continue;
    const lower::SymSize bytes = lower::SymSize::ofType(g.node(p).type);
    s.weightBytes += bytes.eval(b);
    s.weights += bytes.eval(b) / static_cast<std::int64_t>(ir::dtypeSize(g.node(p).type.dtype));
  }
  return s;
}

nlohmann::json toJson(const GraphStats& s) {
  nlohmann::json products = nlohmann::json::array();
  for (const lower::ProductFlops& p : s.flops.products)
    products.push_back({{"node", p.where},
                        {"op", std::string(ir::opName(p.op))},
                        {"dims", p.dims},
                        {"runs", p.runs},
                        {"flops", p.flops}});
  return {{"flops", s.flops.total}, {"weights", s.weights}, {"weight_bytes", s.weightBytes}, {"products", products}};
}

std::string toText(const std::string& title, const GraphStats& s) {
  std::string out =
      fmt::format("{}: {} FLOP in {} product{}; reads {} weights ({} bytes)\n", title, fmt::group_digits(s.flops.total),
                  s.flops.products.size(), s.flops.products.size() == 1 ? "" : "s", fmt::group_digits(s.weights),
                  fmt::group_digits(s.weightBytes));
  for (const lower::ProductFlops& p : s.flops.products)
    out += fmt::format("  {:<10}{:<20}{:<28}{:>16}{}\n", p.where, ir::opName(p.op), p.dims, fmt::group_digits(p.flops),
                       p.runs > 1 ? fmt::format("  ({} runs)", p.runs) : "");
  return out;
}

}  // namespace

void addStatsFlags(CLI::App* cmd, StatsOptions& opts) {
  cmd->add_option("--bind", opts.bindings,
                  "Values of symbolic dimensions, e.g. batch=1 (default: the train block's batch, else 64)")
      ->delimiter(',');
  cmd->add_flag("--json", opts.json, "Print one JSON object (what tools/bench reads) instead of the tables");
}

int runStats(const std::string& path, const StatsOptions& opts) {
  if (driver::isIrFile(path)) {
    fmt::print(stderr, "error: {}: sinter stats takes a model file (.sn), not Graph IR\n", path);
    return 1;
  }
  driver::Compilation c(path);
  if (!c.ok()) return c.reportErrors();
  const ir::Module& m = c.optimized();
  const lower::Bindings b = parseBindings(opts.bindings, c.referenceBindings());
  const GraphStats forward = graphStats(m.forward, b);
  std::optional<GraphStats> train;
  if (m.train) train = graphStats(m.trainStep, b);
  if (opts.json) {
    nlohmann::json j = {{"model", m.name}, {"bindings", b}, {"forward", toJson(forward)}};
    if (train) j["train_step"] = toJson(*train);
    fmt::print("{}\n", j.dump());
    return 0;
  }
  std::string binds;
  for (const auto& [sym, v] : b) binds += fmt::format("{}{}={}", binds.empty() ? "" : ", ", sym, v);
  fmt::print("{} at {}: FLOPs of the matrix products and convolutions, 2 per multiply-add\n", m.name,
             binds.empty() ? "fixed shapes" : binds);
  fmt::print("{}", toText("forward", forward));
  if (train) fmt::print("{}", toText("train step", *train));
  return 0;
}

}  // namespace sinter::tool
