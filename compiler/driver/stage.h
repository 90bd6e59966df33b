// The stages of the compiler pipeline, in order. Their names are what `sinter dump --stage=...` takes and
// prints in its help; the Compilation (compilation.h) makes each stage's product.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sinter::driver {

enum class Stage {
  Ast,     // the syntax tree of the model file
  Graph,   // the forward graph
  Grad,    // the train step: forward and backward, from autodiff
  Opt,     // the graphs after the graph passes
  Fusion,  // the optimized graph with its fusion groups
  Kernel,  // the kernel program: each kernel's loop nest and where it reads and writes
  Memory,  // the memory plan: the arena slot of every temporary
  Llvm,    // LLVM IR, after LLVM's optimizer
  Asm,     // assembly for the target
  Object,  // a relocatable object file
};

struct StageInfo {
  Stage stage;
  std::string_view name;  // "grad"
  std::string_view help;  // "the train step: forward and backward (autodiff)"
  bool printable;         // `sinter dump` can print it (not the object file's bytes)
};

// Every stage, in pipeline order.
const std::vector<StageInfo>& allStages();
const StageInfo& stageInfo(Stage s);
std::optional<Stage> stageNamed(std::string_view name);
// "ast (the syntax tree of the model file), graph (...), ..." of the printable stages, for --help.
std::string printableStagesHelp();
// "ast, graph, grad, ...": the printable stages' names.
std::string printableStageNames();

}  // namespace sinter::driver
