// libFuzzer target for the ONNX importer (frontend/onnx): any bytes give either an imported graph that
// verifies, with an initial value of the right size for every param, or errors; never both, never a crash.
// An imported graph is also written as a model file (`sinter import -o`): a text, or an error that says
// which op has no form in the language, never a crash.
#include <cstdint>
#include <string_view>

#include <stdexcept>

#include "frontend/onnx/onnx_import.h"
#include "frontend/onnx/onnx_source.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  sinter::frontend::DiagnosticEngine diags;
  const auto m = sinter::onnxio::importBytes({reinterpret_cast<const char*>(data), size}, "fuzz.onnx", diags);
  if (m.has_value() == diags.hasErrors()) __builtin_trap();
  if (!m) return 0;
  const sinter::ir::Graph& g = m->module.forward;
  if (!sinter::ir::verify(g).empty()) __builtin_trap();
  for (sinter::ir::NodeId p : g.params) {
    const auto w = m->weights.find(g.node(p).name);
    if (w == m->weights.end()) __builtin_trap();
    const auto n = sinter::ir::staticNumElements(g.node(p).type.shape);
    if (!n || static_cast<std::size_t>(*n) != w->second.data.size()) __builtin_trap();
  }
  try {
    if (sinter::onnxio::writeModelSource(*m, "fuzz.onnx").text.empty()) __builtin_trap();
  } catch (const std::logic_error&) {
    __builtin_trap();
  } catch (const std::runtime_error&) {  // an op or a constant the language cannot write
  }
  return 0;
}
