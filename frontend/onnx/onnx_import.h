// Importing an ONNX model (what torch.onnx.export writes, opsets 11-17) into the Graph IR: the graph's inputs
// become inputs (symbolic axes become symbolic dimensions), its initializers params and its outputs results,
// so that `sinter check`, `dump` and `build` treat an .onnx file as they treat a .sn file. Parsing, the
// checker and the op schemas are Debian's libonnx (docs/onnx.md); this header names none of its types, so
// that only this library's users link protobuf.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/module.h"
#include "frontend/diagnostics.h"
#include "frontend/frontend.h"

namespace sinter::onnxio {

// A param's initial value, in the param's (Sinter's) layout: Gemm's transposed weight is stored [in, out]
// as Dense's is, a convolution's bias [out, 1, 1], a batch normalization folded into a scale and a shift.
struct Weight {
  std::vector<std::int64_t> shape;
  std::vector<float> data;
};

// One direction of an ONNX LSTM, GRU or RNN node that lib/nn.sn's LSTM, GRU or SimpleRNN computes: from a
// zero state, with the default activations (a GRU with linear_before_reset, as torch writes it); a
// bidirectional node is two, with the same node range. The importer unrolls it all the same
// (convert_rnn.cpp); `sinter import -o` writes the layer where only Y_h is read (its `forward`, or
// `reversed` for the reverse direction) or, forward and alone, only Y (its `sequence`).
struct RecurrentSite {
  std::string layer;                              // "LSTM", "GRU", "SimpleRNN"
  std::int64_t in = 0, hidden = 0;                // the layer's arguments
  ir::NodeId x = -1;                              // X [seq, batch, input]
  ir::NodeId nodeFirst = -1, nodeLast = -1;       // the nodes the ONNX node's unrolling added
  ir::NodeId first = -1, last = -1;               // those of this direction's steps (the node's, for one direction)
  bool reversed = false;                          // the reverse direction: from the last step to the first
  ir::NodeId finalState = -1;                     // this direction's Y_h [1, batch, hidden], one of the nodes
  ir::NodeId sequence = -1;                       // Y [seq, 1, batch, hidden], one of them (forward alone, Y bound)
  ir::NodeId wx = -1, wh = -1, bx = -1, bh = -1;  // the unrolling's params ([in, gates], its gate order)
};

struct Imported {
  // The forward graph, no train block; each param starts from its initializer's values (ir::Init::Data), so
  // that a library built from the file computes the ONNX model with no weights file loaded.
  ir::Module module;
  std::map<std::string, Weight> weights;  // the same values by param name: one per param of module.forward
  // The ONNX value name (torch's "/fc1/Gemm_output_0") each node of module.forward that an ONNX node's
  // output is bound to computes: what `sinter import -o` names the model file's values after.
  std::map<ir::NodeId, std::string> valueNames;
  std::vector<RecurrentSite> recurrent;  // in the forward graph
};

// Whether a model path names an ONNX file (by its extension, ".onnx").
bool isOnnxFile(const std::string& path);

// The ONNX op types the importer knows, sorted: what the error for any other op lists.
std::vector<std::string> supportedOps();

// Reads, checks (the ONNX checker) and imports a model file. Every problem is an error in `diags` naming the
// file and, for a node, its name and op type; returns nullopt when any was reported.
std::optional<Imported> importFile(const std::string& path, frontend::DiagnosticEngine& diags);
// The same for the bytes of a model; `path` names it in messages and source locations.
std::optional<Imported> importBytes(std::string_view bytes, const std::string& path, frontend::DiagnosticEngine& diags);

// layer_loader.cpp: the loader of `import "x.onnx" as Name` in a model file (frontend::CompileOptions::onnxLoader):
// the imported forward graph, whose params start from their initializers' values as importFile's do.
frontend::ForeignLoader onnxLayerLoader();
// Installs it in frontend::defaultOptions(), which compileFile and compileSource use when given no options.
void installOnnxLayers();

}  // namespace sinter::onnxio
