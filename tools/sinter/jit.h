// Compiling a model in this process for `sinter train`, `run` and `bench`: the pipeline of
// compiler/driver/compilation.h up to its JIT, which emits and optimizes the module exactly as `sinter build`
// does.
#pragma once

#include <memory>
#include <string>

#include "compiler/codegen/codegen.h"

namespace sinter::tool {

// Where the time of a compilation went, in seconds.
struct JitTimes {
  double pipeline = 0;  // parsing, shape checking, autodiff and the graph passes
  double codegen = 0;   // LLVM: emitting, optimizing, ORC's machine code and linking
};

// The compiled model, or nullptr after printing the model file's diagnostics to stderr. With `needsTrain`,
// a model without a train block is an error too, naming `command`.
std::unique_ptr<codegen::JitModel> compileJit(const std::string& path, const codegen::Options& opts, bool needsTrain,
                                              const char* command, JitTimes* times = nullptr);

}  // namespace sinter::tool
