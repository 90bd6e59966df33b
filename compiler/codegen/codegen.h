// Code generation: an ir::Module becomes native code for the target CPU, through LLVM. The steps (lowering,
// emitting, optimizing, object code, the JIT) are sequenced by compiler/driver's Compilation.
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

// A model compiled in this process with LLVM's ORC JIT. Lives as long as the object.
class JitModel {
 public:
  virtual ~JitModel() = default;
  virtual const sinter_model_desc* descriptor() const = 0;
};

}  // namespace sinter::codegen
