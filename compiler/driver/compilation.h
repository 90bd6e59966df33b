// The compiler pipeline, held once. A Compilation takes a model file, or a module built in code or parsed
// from Graph IR, and makes the product of each stage of stage.h when it is first asked for, verifying the
// graphs between stages: frontend -> autodiff -> graph passes -> fusion groups -> kernel program and memory
// plan -> LLVM module -> assembly, object code or the JIT. `sinter dump`, `build`, `train`, `run`, `bench`
// and `gradcheck`, and the tests, all compile through it.
#pragma once

#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/codegen/codegen.h"
#include "compiler/codegen/kernel_plan.h"
#include "compiler/driver/stage.h"
#include "compiler/ir/fusion_group.h"
#include "compiler/ir/module.h"
#include "compiler/lower/memory_plan.h"
#include "compiler/passes/pass_manager.h"
#include "frontend/diagnostics.h"

namespace sinter::driver {

struct Options {
  passes::PassManagerOptions passes;  // --print-after-all and friends
  std::vector<std::string> passList;  // run these passes once each instead of the default pipeline (--passes)
  std::ostream* log = nullptr;        // where the pass manager writes (default: stderr)
  codegen::Options codegen;           // target, -O, the descriptor's symbol
};

// An LLVM module emitted and optimized for its target, with what keeps it alive.
struct LlvmModule {
  std::unique_ptr<llvm::LLVMContext> context;
  std::unique_ptr<llvm::TargetMachine> target;
  std::unique_ptr<llvm::Module> module;
};

class Compilation {
 public:
  // A model file (.sn). Nothing is compiled until a product is asked for.
  explicit Compilation(std::string path, Options opts = {});
  // A module built in code, or a graph parsed from IR (loadIrFile): its stages start at Graph. A train step
  // the module already holds is its Grad product as it is.
  explicit Compilation(ir::Module m, Options opts = {});

  // Whether the input compiles: false after errors in the model file (syntax, names, shapes), which
  // reportErrors() prints. Every product below needs ok(); a graph that fails the verifier between stages
  // is a compiler bug and throws std::logic_error.
  bool ok();
  int reportErrors() const;  // prints the diagnostics to stderr; returns the exit status 1
  const frontend::DiagnosticEngine& diagnostics() const { return diags_; }

  // ---- the stages' products ------------------------------------------------------------------------------
  std::optional<std::string> ast();  // Ast (a model file only); nullopt after a syntax error
  const ir::Module& graph();         // Graph: the forward graph and the train block's config
  // Grad: with the train step, the gradient of the train block's loss (or, for a graph parsed from IR, of
  // its loss result). Throws std::runtime_error when there is no loss to differentiate.
  const ir::Module& grad();
  const ir::Module& optimized();  // Opt: the train step (if any) and the forward graph after the graph passes
  // The graph the later stages show: the optimized train step, or the optimized forward graph of a model
  // without a train block.
  const ir::Graph& subject();
  std::vector<ir::FusionGroup> fusionGroups();             // Fusion, of subject()
  codegen::KernelProgram kernelProgram();                  // Kernel, of subject()
  lower::MemoryPlan memoryPlan(const lower::Bindings& b);  // Memory of subject(), planned at b
  codegen::LoweredGraph lowered(const ir::Graph& g, const lower::Bindings& reference);
  // Every symbolic dimension at the train block's batch (64 without one): where code generation plans
  // memory, and what dumps bind by default.
  lower::Bindings referenceBindings();
  LlvmModule llvm();     // Llvm: emitted and optimized for the target; a fresh module each call
  LlvmModule emitted();  // the same before LLVM's optimizer
  std::string llvmText();
  std::string assembly();  // Asm
  // Object code of `parts` parts compiled on as many threads (parallel_codegen.h; 0: as many as
  // codegen::codegenParts gives), each the bytes of a relocatable object file.
  std::vector<std::string> objectCode(unsigned parts);
  // One object file (--emit obj); throws std::runtime_error when it cannot write.
  void writeObject(const std::string& path);
  // The objects of objectCode(0), at `path` when there is one, else `path.0`, `path.1`...: what a link takes.
  std::vector<std::string> writeObjects(const std::string& path);
  // The object code linked into this process (the target must be the host).
  std::unique_ptr<codegen::JitModel> jit();

  // Seconds spent making a stage's product (0 when it was not made).
  double seconds(Stage s) const;
  const std::string& source() const { return path_; }

 private:
  std::string path_;
  Options opts_;
  frontend::DiagnosticEngine diags_;
  std::optional<ir::Module> graph_, grad_, optimized_;
  bool failed_ = false;
  std::map<Stage, double> seconds_;

  void optimize(ir::Graph& g);
  void timed(Stage s, double since);
};

// True for a file of Graph IR in its textual form (a `.ir` file) rather than a model.
bool isIrFile(const std::string& path);
// The graphs of a `.ir` file, verified; prints every parse error to stderr and returns nullopt.
std::optional<std::vector<ir::Graph>> loadIrFile(const std::string& path);

}  // namespace sinter::driver
