// Builds the LLVM module of a model: its entry points and the constant sinter_model_desc describing them.
#pragma once

#include <llvm/IR/Module.h>
#include <memory>

#include "compiler/codegen/codegen.h"

namespace sinter::codegen {

// The data layout must be the target's before any code is emitted: loads and stores take their alignment from it.
std::unique_ptr<llvm::Module> emitModule(const ir::Module& m, const Options& opts, const llvm::DataLayout& layout,
                                        llvm::LLVMContext& ctx);

// The LLVM struct type that mirrors sinter_model_desc (tests compare its layout with the C header's).
llvm::StructType* modelDescType(llvm::LLVMContext& ctx);

}  // namespace sinter::codegen
