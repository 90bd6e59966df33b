// `sinter export model.sn [--load weights.safetensors] -o model.onnx`: the model's inference graph with its
// trained weights as an ONNX model (frontend/onnx/onnx_export.h), for ONNX Runtime and the other peers.
// Without --load the params hold their initial values, drawn as the compiled model's sinter_create draws them
// (rt::initParams): an ONNX model's initializers (Init::Data) come out as they went in.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <stdexcept>

#include "compiler/driver/compilation.h"
#include "frontend/onnx/onnx_export.h"
#include "runtime/checkpoint.h"
#include "runtime/init.h"
#include "tools/sinter/commands.h"
#include "tools/sinter/descriptor.h"

namespace sinter::tool {

int runExport(const std::string& path, const ExportOptions& opts) {
  driver::Compilation c(path);
  if (!c.ok()) return c.reportErrors();
  const ir::Graph& g = c.graph().forward;
  // The weights, read as a compiled model would read them: every param present with its shape.
  const Descriptor d(g);
  std::map<std::string, onnxio::Weight> weights;
  std::vector<void*> data;
  for (ir::NodeId id : g.params) {
    const ir::Node& p = g.node(id);
    if (p.type.dtype != ir::DType::F32)
      throw std::runtime_error(fmt::format("param '{}' is {}: only f32 params export", p.name, p.type.str()));
    onnxio::Weight& w = weights[p.name];
    for (const ir::Dim& dim : p.type.shape) w.shape.push_back(dim.size);
    w.data.resize(static_cast<std::size_t>(ir::staticNumElements(p.type.shape).value_or(0)));
    data.push_back(w.data.data());
  }
  if (!opts.load.empty()) {
    rt::loadCheckpoint(opts.load, d.desc(), data.data());
  } else {
    // The seed the training driver would initialize with: --seed, else the train block's, else 0.
    const std::optional<ir::TrainConfig>& train = c.graph().train;
    rt::initParams(d.desc(), opts.seed.value_or(train ? train->seed : 0), data.data());
  }
  const std::string bytes = onnxio::exportGraph(g, weights);
  std::ofstream out(opts.output, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  if (!out) throw std::runtime_error(fmt::format("{}: cannot write the ONNX model", opts.output));
  fmt::print("{}: exported model {} (opset {}, {} bytes) to {}\n", path, g.name, onnxio::kExportOpset, bytes.size(),
             opts.output);
  return 0;
}

}  // namespace sinter::tool
