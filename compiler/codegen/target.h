// The target machine and the LLVM pipeline: host detection, O3 optimization, object and assembly output.
#pragma once

#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>
#include <memory>

#include "compiler/codegen/codegen.h"

namespace sinter::codegen {

// The target machine for opts (the host when triple and CPU are empty). Throws std::runtime_error for an
// unknown triple or CPU.
std::unique_ptr<llvm::TargetMachine> createTargetMachine(const Options& opts);

// Stamps the module with the target's triple, data layout and per-function CPU attributes, verifies it
// and runs LLVM's optimization pipeline at opts.optLevel.
void optimizeModule(llvm::Module& mod, llvm::TargetMachine& tm, const Options& opts);

// The machine code of an optimized module: assembly text, or the bytes of a relocatable object file.
enum class CodeFile { Assembly, Object };
std::string emitCode(llvm::Module& mod, llvm::TargetMachine& tm, CodeFile kind);

}  // namespace sinter::codegen
