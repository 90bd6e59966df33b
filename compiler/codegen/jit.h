// Loading compiled object code into this process with LLVM's ORC JIT.
#pragma once

#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>
#include <memory>
#include <string>
#include <vector>

#include "compiler/codegen/codegen.h"

namespace sinter::codegen {

// Links relocatable object files (compiled for this host, parallel_codegen.h) into this process, as `sinter
// build` would link them into a library, and finds the descriptor symbol `descriptor`.
std::unique_ptr<JitModel> loadJit(std::vector<std::string> objects, const std::string& descriptor);

}  // namespace sinter::codegen
