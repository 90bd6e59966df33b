#include "tools/sinter/jit.h"

#include <fmt/format.h>

#include <chrono>

#include "tools/sinter/pipeline.h"

namespace sinter::tool {

std::unique_ptr<codegen::JitModel> compileJit(const std::string& path, const codegen::Options& opts, bool needsTrain,
                                              const char* command, JitTimes* times) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  frontend::DiagnosticEngine diags;
  auto m = compileModel(path, diags);
  if (!m) {
    reportDiagnostics(diags);
    return nullptr;
  }
  if (needsTrain && !m->train) {
    fmt::print(stderr, "error: {}: no train block: `sinter {}` needs its loss and optimizer (see docs/language.md)\n",
               path, command);
    return nullptr;
  }
  const Clock::time_point lowered = Clock::now();
  auto jit = codegen::JitModel::compile(*m, opts);
  if (times) {
    times->pipeline = std::chrono::duration<double>(lowered - start).count();
    times->codegen = std::chrono::duration<double>(Clock::now() - lowered).count();
  }
  return jit;
}

}  // namespace sinter::tool
