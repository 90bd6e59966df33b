// Code generation: an ir::Module becomes native code for the target CPU, through LLVM.
//
// Every artifact holds three symbols: `<prefix>forward` and `<prefix>train_step` (sinter_entry_fn, see
// runtime/include/sinter/model_abi.h) and the constant descriptor `<descriptor>` (a sinter_model_desc).
#pragma once

#include <memory>
#include <string>

#include "compiler/ir/module.h"

#include <sinter/model_abi.h>

namespace sinter::codegen {

struct Options {
  std::string targetTriple;                 // empty: the host's
  std::string targetCpu;                    // empty: the host's CPU, with all its features
  int optLevel = 3;                         // LLVM optimization level 0..3
  std::string descriptor = "sinter_model";  // symbol of the model descriptor
};

// Textual LLVM IR of the module after optimization (before, when optLevel is 0).
std::string emitLLVMText(const ir::Module& m, const Options& opts);
// Assembly for the target.
std::string emitAssembly(const ir::Module& m, const Options& opts);
// A relocatable object file at `path`. Throws std::runtime_error when it cannot be written.
void emitObjectFile(const ir::Module& m, const Options& opts, const std::string& path);

// A model compiled in this process with LLVM's ORC JIT. Lives as long as the object.
class JitModel {
 public:
  static std::unique_ptr<JitModel> compile(const ir::Module& m, const Options& opts);
  virtual ~JitModel() = default;
  virtual const sinter_model_desc* descriptor() const = 0;
};

}  // namespace sinter::codegen
