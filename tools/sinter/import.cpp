// `sinter import model.onnx`: import an ONNX model, report what it holds, and write its initializers (in the
// params' layout) as a safetensors file that `sinter_load_weights`, `sinter run --load` and training's
// `--load` read into the library or executable `sinter build model.onnx` makes.
#include <fmt/format.h>

#include <iostream>

#include "frontend/onnx/onnx_import.h"
#include "runtime/checkpoint.h"
#include "tools/sinter/commands.h"
#include "tools/sinter/descriptor.h"

namespace sinter::tool {
int runImport(const std::string& path, const ImportOptions& opts) {
  frontend::DiagnosticEngine diags;
  if (!onnxio::isOnnxFile(path)) diags.error({path, 0, 0}, "sinter import reads ONNX models: a file named *.onnx");
  std::optional<onnxio::Imported> imported = diags.hasErrors() ? std::nullopt : onnxio::importFile(path, diags);
  if (!imported) {
    diags.print(std::cerr);
    return 1;
  }
  const ir::Graph& g = imported->module.forward;
  std::int64_t values = 0;
  for (const auto& [name, w] : imported->weights) values += static_cast<std::int64_t>(w.data.size());
  fmt::print("{}: imported model {}: {} inputs, {} params ({} values), {} outputs\n", path, g.name, g.inputs.size(),
             g.params.size(), values, g.results.size());
  if (opts.weights.empty()) return 0;
  const Descriptor d(g);
  std::vector<const void*> data;
  for (ir::NodeId id : g.params) data.push_back(imported->weights.at(g.node(id).name).data.data());
  rt::saveCheckpoint(opts.weights, d.desc(), data.data());
  fmt::print("weights written to {}\n", opts.weights);
  return 0;
}

}  // namespace sinter::tool
