// libFuzzer target for the Graph IR's text parser (ir::parseGraphs): any bytes give graphs that verify
// and print, or errors with a position; never a crash or a sanitizer report. The seeds are the .ir files
// of tests/lit.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "compiler/ir/graph.h"
#include "compiler/ir/parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<sinter::ir::ParseError> errors;
  const std::vector<sinter::ir::Graph> graphs = sinter::ir::parseGraphs(text, "fuzz.ir", errors);
  if (!graphs.empty() && !errors.empty()) __builtin_trap();  // graphs only when there are no errors
  for (const sinter::ir::Graph& g : graphs) (void)sinter::ir::print(g);
  return 0;
}
