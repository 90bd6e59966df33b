// Code generation: an ir::Module becomes native code for the target CPU, through LLVM. The steps (lowering,
// emitting, optimizing, object code, the JIT) are sequenced by compiler/driver's Compilation.
//
// Every artifact holds three symbols: the constant descriptor `<descriptor>` (a sinter_model_desc), the only
// one a library exports, and the entry points it points to, `<descriptor>_forward` and
// `<descriptor>_train_step` (sinter_entry_fn, see runtime/include/sinter/model_abi.h), of hidden visibility.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "compiler/ir/module.h"

#include <sinter/model_abi.h>

namespace sinter::codegen {

struct Options {
  std::string targetTriple;  // empty: the host's
  std::string targetCpu;     // empty: the host's CPU, with all its features
  int optLevel = 3;          // LLVM optimization level 0..3
  // Symbol of the model descriptor. A training executable's main() and the JIT use the default; a library
  // leaves it empty so that every model has its own symbols (descriptorSymbol) and two link into one program.
  std::string descriptor = "sinter_model";
  std::string symbolPrefix;  // prepended to the model's name when `descriptor` is empty (--symbol-prefix)
  // For the train step's gradient, which every compiling command builds: loops store only their carries and
  // recompute the rest backwards (--recompute-loops, autodiff::GradOptions).
  bool recomputeLoops = false;
  // The train step's gradient buckets (grad_buckets.h) hold at most this many bytes, or one gradient
  // (--grad-bucket-kb): a few hundred KB, enough that a bucket's all-reduce costs more than its latency,
  // small enough that the first bucket is ready early in the backward pass.
  std::int64_t gradBucketBytes = 256 * 1024;
  // Threads that optimize and compile parts of the module at once (parallel_codegen.h, --codegen-threads);
  // 0: one per core. The object code's bytes depend on the number of parts, its behaviour does not.
  int codegenThreads = 0;
};

// The descriptor's symbol: `descriptor`, or when empty `<symbolPrefix><Model>_model` with the model's name
// made a C identifier (FashionMLP -> FashionMLP_model).
std::string descriptorSymbol(const Options& opts, const std::string& modelName);
// A C identifier from a Sinter name: dots and other punctuation become underscores.
std::string cIdentifier(const std::string& name);

// A model compiled in this process with LLVM's ORC JIT. Lives as long as the object.
class JitModel {
 public:
  virtual ~JitModel() = default;
  virtual const sinter_model_desc* descriptor() const = 0;
};

}  // namespace sinter::codegen
