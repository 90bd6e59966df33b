// Exporting a model's inference graph to ONNX (opset 17): the forward graph's outputs (not its loss) and the
// nodes they need, the params as initializers holding trained values, symbolic dimensions as named axes.
// The result passes the ONNX checker and its strict shape inference before it is returned.
#pragma once

#include <map>
#include <string>

#include "compiler/ir/graph.h"
#include "frontend/onnx/onnx_import.h"

namespace sinter::onnxio {

inline constexpr int kExportOpset = 17;

// The serialized ModelProto of g's inference graph, with `weights` (by param name, in the params' layout) as
// its initializers. Throws std::runtime_error naming the node for an op that has no ONNX form here, and
// with the checker's message for a model it rejects (a bug of the exporter).
std::string exportGraph(const ir::Graph& g, const std::map<std::string, Weight>& weights);

}  // namespace sinter::onnxio
