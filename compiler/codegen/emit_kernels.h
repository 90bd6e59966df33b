// Emits one generated function: its kernels (one per graph node or fused group, kernel_plan.h), each a
// function of its own over plain buffers. LLVM's loop vectorizer does the SIMD work of the simple loops;
// the matrix products run an explicit register-tiled micro-kernel.
#pragma once

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <map>
#include <string>

#include "compiler/codegen/grad_buckets.h"
#include "compiler/codegen/kernel_plan.h"
#include "compiler/ir/graph.h"
#include "compiler/lower/buffer_plan.h"
#include "compiler/lower/memory_plan.h"

namespace sinter::codegen {

// The groups of passes::findFusionGroups that code generation computes as one kernel each (a GEMM with
// its elementwise epilogue, a weight gradient with its bias gradient, cross-entropy with its gradient and
// softmax, chains of elementwise ops): those whose members are floating point and deterministic and whose
// operands from outside are ready where the group runs. A GEMM whose epilogue reads its product back also
// stores the product.
std::vector<ir::FusionGroup> fusedKernels(const ir::Graph& g);

// The add of a GEMM epilogue that is only `add(acc, product)` with acc of the product's type or a row of
// it (a bias, [N]), when nothing else reads the product: code generation then computes acc + product
// straight into the add's buffer, each tile starting from acc, and the product has no memory of its own.
const ir::Node* productAddedTo(const ir::Graph& g, const ir::FusionGroup& k);

// Where a fused kernel runs: its first member, or for cross-entropy with its gradient the last (the
// gradient's seed is a constant computed in between).
ir::NodeId fusedPosition(const ir::Graph& g, const ir::FusionGroup& k);

// Defines `void name(ptr buffers, ptr sym_dims)` in `mod`, running the kernels of `program` (planKernels;
// `memory` planned with its fused kernels) in order: arguments and results
// in the caller's buffers (`buffers`), temporaries in one arena laid out by `memory`; vectorFloats is the
// target's f32 vector width, for the register-blocked matrix kernel; training says whether random ops
// (dropout) draw, from the seed the caller passes in sym_dims[num_syms]. With `buckets` (a train step), the
// function calls the bucket hook after the kernel that completes each bucket (bucket_hook.cpp). Entry points
// emitted with the same `shared` map call one function for the kernels they have in common (the forward
// pass's kernels, again in the train step): LLVM compiles each once.
using KernelFunctions = std::map<std::string, llvm::Function*>;
llvm::Function* emitGraphFunction(llvm::Module& mod, const std::string& name, const ir::Graph& g,
                                  const lower::BufferPlan& buffers, const lower::MemoryPlan& memory,
                                  const KernelProgram& program, int vectorFloats, bool training,
                                  const GradBuckets* buckets = nullptr, KernelFunctions* shared = nullptr);

// Defines the function of a loop's body (lowered by lowerGraph with its loop's symbols), internal to `mod`:
// `void name(ptr buffers, ptr sym_dims, ptr arena)`, like emitGraphFunction's but with the arena its loop
// allocates once for all steps (kernels_loop.cpp).
llvm::Function* emitBodyFunction(llvm::Module& mod, const std::string& name, const ir::Graph& body,
                                 const LoweredGraph& l, int vectorFloats, bool training);

// The module's parallel_for hook (model_abi.h): a writable pointer, NULL until the runtime installs its
// parallel loop. Created on first use; the descriptor points at it.
llvm::GlobalVariable* parallelHook(llvm::Module& mod);
// The module's scratch hook (model_abi.h, sinter_scratch_fn): NULL until the runtime installs its per-thread
// scratch; kernels then malloc and free their own.
llvm::GlobalVariable* scratchHook(llvm::Module& mod);
// The module's gradient bucket hook (model_abi.h, sinter_bucket_hook: {ready, ctx}), zero until the runtime
// installs one, and `void sinter.bucket_ready(i32)`, which calls it when installed (bucket_hook.cpp).
llvm::GlobalVariable* bucketHook(llvm::Module& mod);
llvm::Function* bucketReadyFunction(llvm::Module& mod);

}  // namespace sinter::codegen
