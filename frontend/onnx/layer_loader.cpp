// `import "backbone.onnx" as Backbone` (docs/onnx.md): the frontend asks for the ONNX model through the loader
// installed here, and gets its forward graph, every param starting from the initializer it came from (the
// importer gives each ir::Init::Data with its values).
#include <memory>

#include "frontend/onnx/onnx_import.h"

namespace sinter::onnxio {

frontend::ForeignLoader onnxLayerLoader() {
  return [](const std::string& path, std::vector<std::string>& errors) -> std::shared_ptr<const frontend::ForeignLayer> {
    frontend::DiagnosticEngine diags;
    diags.setErrorLimit(0);
    std::optional<Imported> imported = importFile(path, diags);
    for (const frontend::Diagnostic& d : diags.all())
      if (d.severity == frontend::Diagnostic::Error) errors.push_back(d.message);
    if (!imported) return nullptr;
    auto layer = std::make_shared<frontend::ForeignLayer>();
    layer->path = path;
    layer->graph = std::move(imported->module.forward);
    return layer;
  };
}

void installOnnxLayers() { frontend::defaultOptions().onnxLoader = onnxLayerLoader(); }

}  // namespace sinter::onnxio
