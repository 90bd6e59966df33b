#include "compiler/driver/stage.h"

#include <fmt/format.h>

namespace sinter::driver {

const std::vector<StageInfo>& allStages() {
  static const std::vector<StageInfo> stages = {
      {Stage::Ast, "ast", "the syntax tree of the model file", true},
      {Stage::Graph, "graph", "the forward graph", true},
      {Stage::Grad, "grad", "the train step: forward and backward, from autodiff", true},
      {Stage::Opt, "opt", "the train step after the graph passes", true},
      {Stage::Fusion, "fusion", "the optimized graph with its fusion groups", true},
      {Stage::Kernel, "kernel", "the kernels code generation emits, with their loop nests", true},
      {Stage::Memory, "memory", "the memory plan of the optimized graph", true},
      {Stage::Llvm, "llvm", "LLVM IR after LLVM's optimizer", true},
      {Stage::Asm, "asm", "assembly for the target", true},
      {Stage::Object, "object", "a relocatable object file (sinter build --emit obj)", false},
  };
  return stages;
}

const StageInfo& stageInfo(Stage s) { return allStages()[static_cast<std::size_t>(s)]; }

std::optional<Stage> stageNamed(std::string_view name) {
  for (const StageInfo& s : allStages())
    if (s.name == name) return s.stage;
  return std::nullopt;
}

std::string printableStagesHelp() {
  std::string out;
  for (const StageInfo& s : allStages())
    if (s.printable) out += fmt::format("{}{} ({})", out.empty() ? "" : ", ", s.name, s.help);
  return out;
}

std::string printableStageNames() {
  std::string out;
  for (const StageInfo& s : allStages())
    if (s.printable) out += fmt::format("{}{}", out.empty() ? "" : ", ", s.name);
  return out;
}

}  // namespace sinter::driver
