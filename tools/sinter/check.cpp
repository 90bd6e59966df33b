// `sinter check`: parse and shape-check a model, report every error, print a Keras-like summary.
#include <fmt/format.h>
#include <iostream>
#include <stdexcept>

#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"
#include "tools/sinter/commands.h"

namespace sinter::tool {

int runCheck(const std::string& path) {
  frontend::DiagnosticEngine diags;
  frontend::ModelSummary summary;
  frontend::CompileOptions opts = frontend::defaultOptions();
  opts.summary = &summary;
  std::optional<ir::Module> m;
  if (onnxio::isOnnxFile(path)) {  // no layers to summarize: the graph's nodes are ONNX's
    if (auto imported = onnxio::importFile(path, diags)) m = std::move(imported->module);
  } else {
    m = frontend::compileFile(path, diags, opts);
  }
  if (!m) {
    diags.print(std::cerr);
    return 1;
  }
  diags.print(std::cerr);  // warnings, if any
  if (auto errs = ir::verify(m->forward); !errs.empty()) {
    std::string msg = fmt::format("internal error: the frontend's graph @{} is invalid:", m->forward.name);
    for (const auto& e : errs) msg += "\n  " + e;
    throw std::logic_error(msg);
  }
  std::int64_t values = 0, stateValues = 0;
  for (ir::NodeId p : m->forward.params)
    (m->forward.node(p).state ? stateValues : values) +=
        ir::staticNumElements(m->forward.node(p).type.shape).value_or(0);
  const std::size_t trained = m->forward.trainedParams().size(), states = m->forward.params.size() - trained;
  fmt::print("{}: ok: model {} with {} inputs, {} params ({} values){}, {} results{}\n", path, m->name,
             m->forward.inputs.size(), trained, values,
             states ? fmt::format(", {} states ({} values)", states, stateValues) : "", m->forward.results.size(),
             m->train ? fmt::format(", trains '{}'", m->train->loss) : "");
  if (!onnxio::isOnnxFile(path)) fmt::print("{}", frontend::formatSummary(summary));
  return 0;
}

}  // namespace sinter::tool
