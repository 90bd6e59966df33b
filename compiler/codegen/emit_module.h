// Builds the LLVM module of a model: its entry points and the constant sinter_model_desc describing them.
#pragma once

#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>
#include <memory>

#include "compiler/codegen/codegen.h"
#include "compiler/codegen/kernel_plan.h"

namespace sinter::codegen {

// The module of m for target `tm`, from its lowered graphs (lowerGraph: the forward graph, and the train step
// when m trains): its data layout is set before any code is emitted (loads and stores take their alignment
// from it) and the matrix kernels are blocked for its vector width.
std::unique_ptr<llvm::Module> emitModule(const ir::Module& m, const LoweredGraph& forward,
                                         const LoweredGraph* trainStep, const Options& opts,
                                         const llvm::TargetMachine& tm, llvm::LLVMContext& ctx);

// f32 lanes of the target's widest vector registers: 16 with AVX-512, 8 with AVX, else 4.
int vectorFloats(const llvm::TargetMachine& tm);

// The LLVM struct type that mirrors sinter_model_desc (tests compare its layout with the C header's).
llvm::StructType* modelDescType(llvm::LLVMContext& ctx);

}  // namespace sinter::codegen
