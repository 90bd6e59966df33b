#include "tools/sinter/jit.h"

#include <fmt/format.h>

#include "compiler/driver/compilation.h"

namespace sinter::tool {

std::unique_ptr<codegen::JitModel> compileJit(const std::string& path, const codegen::Options& opts, bool needsTrain,
                                              const char* command, JitTimes* times) {
  driver::Options o;
  o.codegen = opts;
  driver::Compilation c(path, o);
  if (!c.ok()) {
    c.reportErrors();
    return nullptr;
  }
  if (needsTrain && !c.graph().train) {
    fmt::print(stderr, "error: {}: no train block: `sinter {}` needs its loss and optimizer (see docs/language.md)\n",
               path, command);
    return nullptr;
  }
  auto jit = c.jit();
  if (times) {
    using driver::Stage;
    times->pipeline = c.seconds(Stage::Graph) + c.seconds(Stage::Grad) + c.seconds(Stage::Opt);
    times->codegen = c.seconds(Stage::Llvm) + c.seconds(Stage::Object);
  }
  return jit;
}

}  // namespace sinter::tool
