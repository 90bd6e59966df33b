// Loading an optimized module into this process with LLVM's ORC JIT.
#pragma once

#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>
#include <memory>
#include <string>

#include "compiler/codegen/codegen.h"

namespace sinter::codegen {

// Links `mod` (emitted and optimized for `tm`, which must target this host) into this process, as `sinter
// build` would link its object file, and finds the descriptor symbol `descriptor`.
std::unique_ptr<JitModel> loadJit(std::unique_ptr<llvm::Module> mod, std::unique_ptr<llvm::LLVMContext> ctx,
                                  const llvm::TargetMachine& tm, const std::string& descriptor);

}  // namespace sinter::codegen
