// `sinter import model.onnx`: import an ONNX model, report what it holds, and write its initializers (in the
// params' layout) as a safetensors file that `sinter_load_weights`, `sinter run --load` and training's
// `--load` read into the library or executable `sinter build model.onnx` makes.
#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <iostream>

#include "frontend/onnx/onnx_import.h"
#include "runtime/checkpoint.h"
#include "tools/sinter/commands.h"

namespace sinter::tool {
namespace {

// The descriptor's tables the compiled model will have (as codegen/emit_module.cpp builds them), as far as
// a checkpoint reads them: names, dtypes and dims of the inputs, params and outputs, which its structure hash
// covers. The storage they point into lives here.
class Descriptor {
 public:
  explicit Descriptor(const ir::Graph& g) : symbols_(g.symbols()) {
    for (ir::NodeId id : g.inputs) inputs_.push_back(tensor(g.node(id).name, g.node(id).type));
    for (ir::NodeId id : g.params) params_.push_back(tensor(g.node(id).name, g.node(id).type));
    for (const ir::Result& r : g.results) outputs_.push_back(tensor(r.name, g.node(r.node).type));
    desc_.abi_version = SINTER_ABI_VERSION;
    desc_.name = g.name.c_str();
    desc_.num_inputs = static_cast<int32_t>(inputs_.size());
    desc_.num_params = static_cast<int32_t>(params_.size());
    desc_.num_outputs = static_cast<int32_t>(outputs_.size());
    desc_.inputs = inputs_.data();
    desc_.params = params_.data();
    desc_.outputs = outputs_.data();
  }
  const sinter_model_desc& desc() const { return desc_; }

 private:
  std::vector<std::string> symbols_;
  std::deque<std::vector<int64_t>> dims_;
  std::vector<sinter_tensor_desc> inputs_, params_, outputs_;
  sinter_model_desc desc_{};

  sinter_tensor_desc tensor(const std::string& name, const ir::TensorType& t) {
    std::vector<int64_t>& dims = dims_.emplace_back();
    for (const ir::Dim& d : t.shape) {  // a symbolic dimension k is -k-1, as in the ABI
      const auto s = std::find(symbols_.begin(), symbols_.end(), d.symbol);
      dims.push_back(d.isSymbolic() ? -static_cast<int64_t>(s - symbols_.begin()) - 1 : d.size);
    }
    int32_t dtype = SINTER_F32;
    switch (t.dtype) {
      case ir::DType::F32: dtype = SINTER_F32; break;
      case ir::DType::F64: dtype = SINTER_F64; break;
      case ir::DType::I32: dtype = SINTER_I32; break;
    }
    return {name.c_str(), dtype, static_cast<int32_t>(dims.size()), dims.data(), SINTER_INIT_ZEROS, 0, 0};
  }
};

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
  if (opts.weights.empty()) return 0;
  const Descriptor d(g);
  std::vector<const void*> data;
  for (ir::NodeId id : g.params) data.push_back(imported->weights.at(g.node(id).name).data.data());
  rt::saveCheckpoint(opts.weights, d.desc(), data.data());
  fmt::print("weights written to {}\n", opts.weights);
  return 0;
}

}  // namespace sinter::tool
