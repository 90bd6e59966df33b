// libFuzzer target for the frontend: any bytes as a model file must produce a module or diagnostics —
// never a crash, a hang, a sanitizer report or unbounded memory. Imports work (the standard library is
// fair game) but only by relative name, so that an input cannot make the fuzzer read arbitrary files.
// tests/fuzz/README.md says how to build and run it.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string_view>

#include "compiler/ir/graph.h"
#include "frontend/frontend.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sinter::frontend::CompileOptions opts;
  opts.absoluteImports = false;
  sinter::frontend::DiagnosticEngine diags;
  auto m = sinter::frontend::compileSource(text, "fuzz.sn", diags, opts);
  if (m && !sinter::ir::verify(m->forward).empty()) __builtin_trap();  // the frontend built an invalid graph
  std::ostringstream sink;
  diags.print(sink);  // rendering carets over arbitrary bytes is part of the contract
  sinter::frontend::DiagnosticEngine astDiags;
  (void)sinter::frontend::dumpAstSource(text, "fuzz.sn", astDiags);
  return 0;
}
