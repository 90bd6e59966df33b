// `sinter gradcheck`: every parameter's gradient against central finite differences, in f64 on the
// reference interpreter, printed as a table.
#include <fmt/format.h>

#include "compiler/autodiff/gradcheck.h"
#include "compiler/driver/compilation.h"
#include "tools/sinter/commands.h"

namespace sinter::tool {

int runGradCheck(const std::string& path, const GradCheckOptions& opts) {
  driver::Compilation c(path);
  if (!c.ok()) return c.reportErrors();
  const ir::Module* m = &c.graph();
  if (!m->train) {
    fmt::print(stderr, "error: {}: no train block, so no loss to differentiate\n", path);
    return 1;
  }
  if (!opts.param.empty()) {
    const ir::Node* found = nullptr;
    for (ir::NodeId p : m->forward.params)
      if (m->forward.node(p).name == opts.param) found = &m->forward.node(p);
    if (!found || found->state) {
      fmt::print(stderr, "error: {} has no {} '{}'{}\n", path, found ? "trained param" : "param", opts.param,
                 found ? ": it is a state, which has no gradient" : "");
      return 1;
    }
  }
  const ir::Graph& g = m->trainingGraph();
  const auto args = autodiff::randomArguments(g, opts.batch, opts.seed);
  const auto rows = autodiff::gradCheck(g, m->train->loss, args, opts.samples, opts.eps, opts.tolerance, opts.param);
  fmt::print("gradient check of '{}' in {} (batch {}, eps {:g}, tolerance {:g}, seed {})\n", m->train->loss, path,
             opts.batch, opts.eps, opts.tolerance, opts.seed);
  fmt::print("{:<24} {:<18} {:>8} {:>13} {:>13}  {}\n", "param", "type", "checked", "max abs err", "max rel err",
             "status");
  bool ok = true;
  for (const auto& r : rows) {
    std::string type;
    for (ir::NodeId p : m->forward.params)
      if (m->forward.node(p).name == r.param) type = m->forward.node(p).type.str();
    fmt::print("{:<24} {:<18} {:>8} {:>13.3e} {:>13.3e}  {}\n", r.param, type, r.checked, r.maxAbsError, r.maxRelError,
               r.ok ? "ok" : "FAIL");
    ok = ok && r.ok;
  }
  fmt::print("{}\n", ok ? "all gradients match" : "some gradients do not match");
  return ok ? 0 : 1;
}

}  // namespace sinter::tool
