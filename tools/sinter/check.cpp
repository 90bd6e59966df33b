// `sinter check`: parse and shape-check a model, report every error, print a one-line summary.
#include <fmt/format.h>
#include <iostream>

#include "tools/sinter/commands.h"
#include "tools/sinter/pipeline.h"

namespace sinter::tool {

int runCheck(const std::string& path) {
  frontend::DiagnosticEngine diags;
  auto m = compileModel(path, diags);
  if (!m) return reportDiagnostics(diags);
  diags.print(std::cerr);  // warnings, if any
  std::int64_t values = 0;
  for (ir::NodeId p : m->forward.params) values += ir::staticNumElements(m->forward.node(p).type.shape).value_or(0);
  fmt::print("{}: ok: model {} with {} inputs, {} params ({} values), {} results{}\n", path, m->name,
             m->forward.inputs.size(), m->forward.params.size(), values, m->forward.results.size(),
             m->train ? fmt::format(", trains '{}'", m->train->loss) : "");
  return 0;
}

}  // namespace sinter::tool
