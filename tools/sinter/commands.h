// The sub-commands of `sinter`. Each returns the process exit status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/codegen/codegen.h"
#include "compiler/driver/compilation.h"
#include "runtime/driver_options.h"

namespace CLI {
class App;
}

namespace sinter::tool {

int runCheck(const std::string& path);

struct DumpOptions {
  std::vector<std::string> stages;    // names of printable stages (compiler/driver/stage.h)
  driver::Options compile;            // pass manager flags (--print-after-all, --stop-after, ...), codegen
  std::string format = "text";        // graph stages: text (the IR's textual form) or dot (graphviz)
  std::string outputDir;              // several stages in DOT: where their files go
  std::vector<std::string> bindings;  // SYM=N values of symbolic dimensions for the memory report
};
int runDump(const std::string& path, const DumpOptions& opts);
// Adds the dump sub-command's pass manager, format and binding flags.
void addDumpFlags(CLI::App* cmd, DumpOptions& opts);
// The values of --bind SYM=N,... (std::runtime_error names a malformed one), then `defaults` for the symbols
// left unbound.
lower::Bindings parseBindings(const std::vector<std::string>& specs, const lower::Bindings& defaults);

struct StatsOptions {
  std::vector<std::string> bindings;  // SYM=N values of symbolic dimensions
  bool json = false;                  // one JSON object, what tools/bench reads
};
// Prints the FLOPs of the products and convolutions of the optimized forward graph and train step, and the
// bytes of weights each reads.
int runStats(const std::string& path, const StatsOptions& opts);
void addStatsFlags(CLI::App* cmd, StatsOptions& opts);

struct BuildOptions {
  std::string emit = "exe";  // exe, obj, static, shared, header, llvm, asm
  std::string output;        // default: derived from the model file's name
  std::string depfile;       // when set: a Makefile rule naming the model and the files it imports
  bool mpi = false;          // exe: one process of an MPI job (docs/distributed.md), linked with libmpi
  codegen::Options codegen;
};
int runBuild(const std::string& path, const BuildOptions& opts);
// The CPU `sinter build` generates code for when --target-cpu is not given: x86-64-v3 for an x86-64 obj,
// static, shared or exe (artifacts that go to other machines), else "" (the host's, or the target's generic).
std::string portableCpu(const std::string& emit, const codegen::Options& opts);

struct GradCheckOptions {
  std::string param;  // only this param (default: all)
  double eps = 1e-6;
  double tolerance = 1e-5;
  std::uint64_t seed = 1;
  std::int64_t batch = 4;     // value of every symbolic dimension
  std::int64_t samples = 64;  // elements checked per param, spread evenly
};
int runGradCheck(const std::string& path, const GradCheckOptions& opts);

struct PlotOptions {
  std::vector<std::string> files;   // metrics files (JSON Lines of the training driver)
  std::vector<std::string> labels;  // a name per run; empty: the file names
  std::vector<std::string> params;  // the params whose gradient norms are drawn; empty: all
  std::string output = "curves.svg";
};

// Draws the loss and accuracy curves (and gradient norms) of one or more metrics files on shared axes, as an
// SVG or PNG file.
int runPlot(const PlotOptions& options);

// Compiles the model with the JIT and runs the runtime's training driver with `driverArgs`; with `mpi`, as one
// process of an MPI job (mpirun -np N sinter train MODEL --mpi ...; docs/distributed.md).
int runTrain(const std::string& path, const codegen::Options& codegen, bool mpi,
             const std::vector<std::string>& driverArgs);

struct RunOptions {
  rt::DriverOptions data;        // the data flags of `sinter train`, and --load, --threads, --no-ftz
  std::optional<int64_t> batch;  // default: the train block's
  std::optional<uint64_t> seed;  // of --val-split; default: the train block's
  std::string predictions;       // .npy file for the first non-loss output; empty: none
  bool dataSourceGiven = false;  // a data flag naming the data: the train block's `data` is then not used
  codegen::Options codegen;
};
// Compiles the model with the JIT and evaluates trained weights on a test set (runtime/eval_driver.h).
int runModel(const std::string& path, const RunOptions& opts);
// Adds the run sub-command's flags: the driver's data flags (runtime/driver_options.h) and its own.
void addRunFlags(CLI::App* cmd, RunOptions& opts);

struct BenchOptions {
  std::optional<int64_t> batch;  // default: the train block's, else 64
  int threads = 0;               // 0: SINTER_NUM_THREADS, else every hardware thread
  double seconds = 2;            // of sampling per mode, after a warm-up of a tenth of it
  std::string mode = "both";     // forward, train or both
  codegen::Options codegen;
};
// Compiles the model with the JIT and times sinter_forward and sinter_train_step on random inputs.
int runBench(const std::string& path, const BenchOptions& opts);
void addBenchFlags(CLI::App* cmd, BenchOptions& opts);

struct ImportOptions {
  std::string weights;  // the initializers as a safetensors file; empty: none (with output: beside it)
  std::string output;   // the model as a model file (.sn); empty: none
};
// Imports an ONNX model (frontend/onnx), prints what it holds and writes its initializers, and with
// opts.output the model as a readable model file with the weights of its params.
int runImport(const std::string& path, const ImportOptions& opts);

struct ExportOptions {
  std::string load;              // the trained weights (safetensors); empty: the params' initial values
  std::optional<uint64_t> seed;  // the seed of those initial values (default: the train block's, else 0)
  std::string output;            // the .onnx file
};
// Writes the model's inference graph with the weights of opts.load, or the params' initial values, as an
// ONNX model (docs/onnx.md).
int runExport(const std::string& path, const ExportOptions& opts);

}  // namespace sinter::tool
