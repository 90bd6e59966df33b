// `sinter import model.onnx`: import an ONNX model, report what it holds, and write its initializers (in the
// params' layout) as a safetensors file that `sinter_load_weights`, `sinter run --load` and training's
// `--load` read into the library or executable `sinter build model.onnx` makes. With -o, write the model as
// a readable model file (frontend/onnx/onnx_source.h) and the weights of that file's params.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"
#include "frontend/onnx/onnx_source.h"
#include "runtime/checkpoint.h"
#include "runtime/error.h"
#include "runtime/file_io.h"
#include "tools/sinter/commands.h"
#include "tools/sinter/descriptor.h"

namespace sinter::tool {

namespace {

// The weights of `g`'s params, by name from `weights`, saved to `path`.
void saveWeights(const std::string& path, const ir::Graph& g, const std::map<std::string, onnxio::Weight>& weights) {
  const Descriptor d(g);
  std::vector<const void*> data;
  for (ir::NodeId id : g.params) data.push_back(weights.at(g.node(id).name).data.data());
  rt::saveCheckpoint(path, d.desc(), data.data());
}

// The model file beside its weights: `model.sn` -> `model.safetensors`.
std::string weightsBeside(const std::string& modelPath) {
  return std::filesystem::path(modelPath).replace_extension(".safetensors").string();
}

// Writes the model file and its weights. The file is compiled again before anything is written: what it
// computes is the imported graph's, and a file the frontend rejects is this command's bug, not the user's.
int writeModelFile(const std::string& path, const onnxio::Imported& imported, const ImportOptions& opts) {
  const std::string weightsPath = opts.weights.empty() ? weightsBeside(opts.output) : opts.weights;
  rt::checkWritable(opts.output, "-o");
  rt::checkWritable(weightsPath, "--weights");
  const onnxio::ModelSource source = onnxio::writeModelSource(imported, path);
  frontend::DiagnosticEngine diags;
  const std::optional<ir::Module> written = frontend::compileSource(source.text, opts.output, diags);
  if (!written) {
    diags.print(std::cerr);
    throw std::logic_error(fmt::format("the model file written for {} does not compile", path));
  }
  {
    std::ofstream f(opts.output, std::ios::binary | std::ios::trunc);
    f << source.text;
    if (!f.flush()) throw rt::IoError(fmt::format("-o {}: cannot write the model file", opts.output));
  }
  saveWeights(weightsPath, written->forward, source.weights);
  fmt::print("model file written to {}, its weights to {}\n", opts.output, weightsPath);
  return 0;
}

}  // namespace

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
  if (!opts.output.empty()) return writeModelFile(path, *imported, opts);
  if (opts.weights.empty()) return 0;
  saveWeights(opts.weights, g, imported->weights);
  fmt::print("weights written to {}\n", opts.weights);
  return 0;
}

}  // namespace sinter::tool
