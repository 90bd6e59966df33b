// Object code on several cores: the emitted module cut into parts, each optimized and compiled to machine
// code on its own thread. LLVM spends most of a compile in its pipeline and instruction selection, one
// function at a time, and a model's kernels are separate functions that never inline into each other, so
// the parts compile independently and link as if they were one object.
#pragma once

#include <llvm/IR/Module.h>
#include <memory>
#include <string>
#include <vector>

#include "compiler/codegen/codegen.h"

namespace sinter::codegen {

// How many parts a module is cut into: opts.codegenThreads, or (0) the cores this process may use, at most
// one part per defined function of the module.
unsigned codegenParts(const llvm::Module& mod, const Options& opts);

// The relocatable object files of `mod` (emitted, not yet optimized), one per part, optimized at
// opts.optLevel for the target of opts. With one part this is optimizeModule + emitCode. With several, the
// module's local symbols become hidden globals named after `symbolPrefix` (the model's descriptor symbol),
// so that parts link to each other and two models' objects still link into one program.
std::vector<std::string> compileObjects(std::unique_ptr<llvm::Module> mod, const Options& opts, unsigned parts,
                                        const std::string& symbolPrefix);

}  // namespace sinter::codegen
