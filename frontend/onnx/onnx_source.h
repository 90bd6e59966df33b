// An imported ONNX model written back as a model file of the language (`sinter import model.onnx -o
// model.sn`), so that it can be read and edited: its products and convolutions with their weights as
// lib/nn.sn's Dense and Conv2D layers where the pattern is clear, everything else as the language's built-in
// ops, values named after the ONNX values they hold. The weights come with it, renamed to the file's params.
#pragma once

#include <map>
#include <string>

#include "frontend/onnx/onnx_import.h"

namespace sinter::onnxio {

struct ModelSource {
  std::string text;                       // the model file
  std::map<std::string, Weight> weights;  // by the file's param paths ("fc1.w"), in their layout
};

// The model file computing `imported`'s forward graph (read from `onnxPath`, named in its header comment).
ModelSource writeModelSource(const Imported& imported, const std::string& onnxPath);

}  // namespace sinter::onnxio
