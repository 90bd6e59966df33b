// `sinter gradcheck`: every parameter's gradient against central finite differences, in f64 on the
// reference interpreter, printed as a table.
#include <fmt/format.h>

#include "compiler/autodiff/gradcheck.h"
#include "tools/sinter/commands.h"
#include "compiler/driver/compilation.h"

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
    bool found = false;
    for (ir::NodeId p : m->forward.params) found = found || m->forward.node(p).name == opts.param;
    if (!found) {
      fmt::print(stderr, "error: {} has no param '{}'\n", path, opts.param);
      return 1;
    }
  }
  const auto args = autodiff::randomArguments(m->forward, opts.batch, opts.seed);
  const auto rows =
      autodiff::gradCheck(m->forward, m->train->loss, args, opts.samples, opts.eps, opts.tolerance, opts.param);
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
