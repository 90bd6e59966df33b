// The sub-commands of `sinter`. Each returns the process exit status.
#pragma once

#include <string>
#include <vector>

#include "compiler/codegen/codegen.h"
#include "tools/sinter/pipeline.h"

namespace CLI {
class App;
}

namespace sinter::tool {

int runCheck(const std::string& path);

struct DumpOptions {
  std::vector<std::string> stages;    // ast, graph, grad, opt, fusion, kernel, memory, llvm, asm
  codegen::Options codegen;
  PipelineOptions pipeline;           // pass manager flags: --print-after-all, --stop-after, ...
  std::string format = "text";        // graph stages: text (the IR's textual form) or dot (graphviz)
  std::vector<std::string> bindings;  // SYM=N values of symbolic dimensions for the memory report
};
int runDump(const std::string& path, const DumpOptions& opts);
// Adds the dump sub-command's pass manager, format and binding flags.
void addDumpFlags(CLI::App* cmd, DumpOptions& opts);

struct BuildOptions {
  std::string emit = "exe";  // exe, obj, static, shared, header, llvm, asm
  std::string output;        // default: derived from the model file's name
  codegen::Options codegen;
};
int runBuild(const std::string& path, const BuildOptions& opts);

struct GradCheckOptions {
  std::string param;  // only this param (default: all)
  double eps = 1e-6;
  double tolerance = 1e-5;
  std::uint64_t seed = 1;
  std::int64_t batch = 4;     // value of every symbolic dimension
  std::int64_t samples = 64;  // elements checked per param, spread evenly
};
int runGradCheck(const std::string& path, const GradCheckOptions& opts);

// Draws the loss and accuracy curves of a metrics file (JSON Lines of the training driver) as SVG.
int runPlot(const std::string& metricsPath, const std::string& output);

// Compiles the model with the JIT and runs the runtime's training driver with `driverArgs`.
int runTrain(const std::string& path, const codegen::Options& codegen, const std::vector<std::string>& driverArgs);

}  // namespace sinter::tool
