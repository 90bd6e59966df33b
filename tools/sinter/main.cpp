// The `sinter` command line: one entry per sub-command (its flags and what it runs), and the flags they share.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <optional>

#include <llvm/Config/llvm-config.h>
#include <sinter/sinter.h>

#include "compiler/driver/stage.h"
#include "compiler/ir/op_table.h"
#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"
#include "tools/sinter/commands.h"
#include "tools/sinter/install_paths.h"
#include "tools/sinter/mpi_launch.h"

namespace {

using namespace sinter;

// What every command that reads a model file takes: the file and the -I directories of `import`.
struct ModelArgs {
  std::string path;
  std::vector<std::string> includeDirs;
};

// Every command's options: they are filled while parsing and read when the command runs.
struct Flags {
  ModelArgs model;
  tool::DumpOptions dump;
  tool::StatsOptions stats;
  std::string stages = "graph,grad";
  tool::BuildOptions build;
  tool::GradCheckOptions gradcheck;
  tool::PlotOptions plot;
  codegen::Options train;
  std::vector<std::string> driverArgs;  // `sinter train MODEL -- FLAGS`: what follows "--"
  bool trainMpi = false;                // `sinter train --mpi`: one process of an MPI job
  tool::RunOptions run;
  tool::BenchOptions bench;
  tool::ImportOptions import;
  tool::ExportOptions exportOpts;
};

struct Command {
  CLI::App* app;
  std::function<int()> run;
};

void addModelArgs(CLI::App* cmd, ModelArgs& m, const char* what = "Model file") {
  cmd->add_option("model", m.path, what)->required();
  // One directory per -I, so that `-I dir model.sn` leaves the model to the positional argument.
  cmd->add_option("-I,--include", m.includeDirs, "Directory searched by `import` (repeatable: -I a -I b)")
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->type_name("DIR");
}

// The target flags; `crossCompiles` adds --target-triple (not for the commands that run the code here).
// Returns --target-cpu, whose default `sinter build` chooses per artifact.
CLI::Option* addCodegenFlags(CLI::App* cmd, codegen::Options& o, bool crossCompiles,
                             const char* cpuHelp = "CPU to generate code for (default and `native`: this machine's)") {
  CLI::Option* cpu = cmd->add_option("--target-cpu", o.targetCpu, cpuHelp)->transform([](const std::string& v) {
    return v == "native" ? std::string() : v;  // the host's CPU, with all its features
  });
  if (crossCompiles)
    cmd->add_option("--target-triple", o.targetTriple, "Target triple for cross compilation (default: host)");
  // -O0 skips LLVM's optimizer (faster to compile, slower to run), e.g. while debugging a model.
  cmd->add_option("-O", o.optLevel, "LLVM optimization level")->check(CLI::Range(0, 3))->default_val(3);
  cmd->add_flag("--recompute-loops", o.recomputeLoops,
                "Train step: a loop's gradient stores only the carries entering each step and recomputes the "
                "step's other values backwards, instead of storing them too (less memory, more time)");
  // The buckets matter to --mpi executables only (docs/distributed.md); every train step has them.
  cmd->add_option_function<std::int64_t>(
         "--grad-bucket-kb", [&o](std::int64_t kb) { o.gradBucketBytes = kb * 1024; },
         "Train step: the size of the gradient buckets whose all-reduce an MPI run starts as soon as the backward "
         "pass has produced them, in KB (default 256)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  cmd->add_option("--codegen-threads", o.codegenThreads,
                  "Threads that optimize and compile parts of the model at once (default 0: one per core; the "
                  "object code's bytes depend on it, its results do not)")
      ->check(CLI::Range(0, 256));
  return cpu;
}

Command checkCommand(CLI::App& app, Flags& f) {
  ModelArgs& m = f.model;
  CLI::App* cmd = app.add_subcommand("check", "Parse and shape-check a model; report every error");
  addModelArgs(cmd, m);
  return {cmd, [&m] { return tool::runCheck(m.path); }};
}

Command dumpCommand(CLI::App& app, Flags& f) {
  ModelArgs& m = f.model;
  CLI::App* cmd = app.add_subcommand("dump", "Print stages of the pipeline");
  addModelArgs(cmd, m, "Model file (.sn) or Graph IR (.ir)");
  cmd->add_option("--stage", f.stages, "Comma-separated stages: " + driver::printableStagesHelp())
      ->capture_default_str();
  addCodegenFlags(cmd, f.dump.compile.codegen, true);
  tool::addDumpFlags(cmd, f.dump);
  return {cmd, [&f] {
            for (const auto& s : CLI::detail::split(f.stages, ',')) f.dump.stages.push_back(CLI::detail::trim_copy(s));
            return tool::runDump(f.model.path, f.dump);
          }};
}

Command statsCommand(CLI::App& app, Flags& f) {
  CLI::App* cmd = app.add_subcommand(
      "stats",
      "Print the FLOPs of a model's matrix products and convolutions per forward call and train step, and "
      "the bytes of weights each reads");
  addModelArgs(cmd, f.model);
  tool::addStatsFlags(cmd, f.stats);
  return {cmd, [&f] { return tool::runStats(f.model.path, f.stats); }};
}

Command buildCommand(CLI::App& app, Flags& f) {
  ModelArgs& m = f.model;
  tool::BuildOptions& build = f.build;
  CLI::App* cmd = app.add_subcommand(
      "build",
      "Compile a model to a training executable, a library with a C header, an object file, LLVM IR or assembly");
  addModelArgs(cmd, m);
  cmd->add_option("--emit", build.emit, "What to produce")
      ->check(CLI::IsMember({"exe", "obj", "static", "shared", "header", "llvm", "asm"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", build.output, "Output file (default: the model's name with a fitting suffix)");
  cmd->add_option("--symbol-prefix", build.codegen.symbolPrefix,
                  "Prefix of the model's symbols: the descriptor <PREFIX><Model>_model and the header's "
                  "<PREFIX><Model>_* functions (default: none)");
  cmd->add_option("--depfile", build.depfile,
                  "Also write a Makefile rule: the output depends on the model file and every file it imports");
  cmd->add_flag("--mpi", build.mpi,
                "A training executable that runs as one process of an MPI job (mpirun -np N): data-parallel "
                "training, linked with libmpi (docs/distributed.md)");
  CLI::Option* cpu = addCodegenFlags(
      cmd, build.codegen, true,
      "CPU to generate code for: `native` for this machine's; default x86-64-v3 (AVX2, FMA) for an x86-64 "
      "obj, static, shared or exe, so that it runs on other machines");
  return {cmd, [&f, cpu] {
            if (cpu->count() == 0) f.build.codegen.targetCpu = tool::portableCpu(f.build.emit, f.build.codegen);
            return tool::runBuild(f.model.path, f.build);
          }};
}

Command gradcheckCommand(CLI::App& app, Flags& f) {
  ModelArgs& m = f.model;
  tool::GradCheckOptions& o = f.gradcheck;
  CLI::App* cmd = app.add_subcommand(
      "gradcheck", "Compare every parameter's gradient with central finite differences (f64, reference interpreter)");
  addModelArgs(cmd, m);
  cmd->add_option("--param", o.param, "Check only this parameter");
  cmd->add_option("--eps", o.eps, "Finite-difference step")->capture_default_str();
  cmd->add_option("--tolerance", o.tolerance, "Largest accepted min(abs, rel) error")->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the random inputs and parameters")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Value of every symbolic dimension")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--samples", o.samples, "Elements checked per parameter")
      ->check(CLI::Range(1, 1 << 30))
      ->capture_default_str();
  return {cmd, [&f] { return tool::runGradCheck(f.model.path, f.gradcheck); }};
}

Command plotCommand(CLI::App& app, Flags& f) {
  CLI::App* cmd = app.add_subcommand(
      "plot",
      "Draw the loss and accuracy curves of metrics files (JSON Lines) as SVG or PNG; several files overlay their "
      "runs, and runs with the grad_norm metric add a panel of gradient norms each");
  cmd->add_option("metrics", f.plot.files, "Metrics files written by --metrics")->required();
  cmd->add_option("--labels", f.plot.labels,
                  "Names of the runs, one per file, comma-separated (default: the file names)")
      ->delimiter(',');
  cmd->add_option("--params", f.plot.params,
                  "Params whose gradient norms are drawn, comma-separated (default: every param in the files)")
      ->delimiter(',');
  cmd->add_option("-o,--output", f.plot.output, "File to write: .svg, or .png for a raster image")
      ->capture_default_str();
  return {cmd, [&f] { return tool::runPlot(f.plot); }};
}

// `sinter train MODEL -- FLAGS`: everything after the model file goes to the training driver untouched.
Command trainCommand(CLI::App& app, Flags& f) {
  ModelArgs& m = f.model;
  CLI::App* cmd = app.add_subcommand("train",
                                     "JIT-compile a model and train it now; other flags go to the training driver "
                                     "(`sinter train MODEL -- --help` lists them)");
  addModelArgs(cmd, m);
  cmd->prefix_command();
  addCodegenFlags(cmd, f.train, false);
  cmd->add_flag("--mpi", f.trainMpi,
                "Train as one process of an MPI job: `mpirun -np N sinter train MODEL --mpi ...` trains with N "
                "processes, as an executable of `sinter build --mpi` (docs/distributed.md)");
  return {cmd, [cmd, &f] {
            // The driver's flags that precede --mpi carry it along with them (a prefix command): take it back.
            std::vector<std::string> extra;
            for (std::string& a : cmd->remaining())
              if (a == "--mpi") f.trainMpi = true;
              else extra.push_back(std::move(a));
            extra.insert(extra.end(), f.driverArgs.begin(), f.driverArgs.end());
            return tool::runTrain(f.model.path, f.train, f.trainMpi, extra);
          }};
}

Command runCommand(CLI::App& app, Flags& f) {
  ModelArgs& m = f.model;
  CLI::App* cmd = app.add_subcommand(
      "run",
      "JIT-compile a trained model and evaluate its weights on a test set: loss, accuracy, throughput, "
      "and the predictions for every sample with --predictions; a model without a train block (an .onnx "
      "file) runs forward only: its outputs for every sample");
  addModelArgs(cmd, m);
  addCodegenFlags(cmd, f.run.codegen, false);
  tool::addRunFlags(cmd, f.run);
  return {cmd, [&f] { return tool::runModel(f.model.path, f.run); }};
}

Command benchCommand(CLI::App& app, Flags& f) {
  ModelArgs& m = f.model;
  CLI::App* cmd =
      app.add_subcommand("bench",
                         "JIT-compile a model and time its forward pass and train step on random inputs: median and "
                         "quartiles per call, samples per second, and the compile time");
  addModelArgs(cmd, m);
  addCodegenFlags(cmd, f.bench.codegen, false);
  tool::addBenchFlags(cmd, f.bench);
  return {cmd, [&f] { return tool::runBench(f.model.path, f.bench); }};
}

Command importCommand(CLI::App& app, Flags& f) {
  CLI::App* cmd = app.add_subcommand(
      "import",
      "Import an ONNX model: check that every node is supported and write its initializers, or the model as a "
      "readable model file with its weights (docs/onnx.md)");
  cmd->add_option("model", f.model.path, "ONNX model file (.onnx)")->required();
  cmd->add_option("-o,--output", f.import.output,
                  "Write the model as a model file: lib/nn.sn's Dense, Conv2D, LayerNorm and Embedding layers "
                  "where the pattern is clear, built-in ops elsewhere; its weights go beside it (OUT.safetensors) "
                  "unless --weights")
      ->type_name("OUT.sn");
  cmd->add_option("--weights", f.import.weights,
                  "Write the initializers to this safetensors file (for --load and sinter_load_weights): in the "
                  "layout of the params of `sinter build MODEL.onnx`, or with -o of the model file's params")
      ->type_name("OUT.safetensors");
  return {cmd, [&f] { return tool::runImport(f.model.path, f.import); }};
}

Command exportCommand(CLI::App& app, Flags& f) {
  ModelArgs& m = f.model;
  CLI::App* cmd = app.add_subcommand(
      "export",
      "Write a model's inference graph with its trained or initial weights as an ONNX model (opset 17; docs/onnx.md)");
  addModelArgs(cmd, m);
  auto* load = cmd->add_option("--load", f.exportOpts.load,
                               "The trained weights: a safetensors file of `sinter train --save` (default: each "
                               "param's initial value as the model declares it, drawn with --seed as training "
                               "would; an ONNX model's or imported layer's initializers as they are)")
                   ->type_name("FILE");
  cmd->add_option_function<uint64_t>(
         "--seed", [&f](const uint64_t& s) { f.exportOpts.seed = s; },
         "Without --load: the seed of the params' initial values (default: the train block's, else 0)")
      ->excludes(load)
      ->type_name("N");
  cmd->add_option("-o,--output", f.exportOpts.output, "The ONNX file to write")->required()->type_name("OUT.onnx");
  return {cmd, [&f] { return tool::runExport(f.model.path, f.exportOpts); }};
}

Command opsCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "ops", "Print the op reference of the Graph IR (docs/ir.md's, generated from the op table) as Markdown");
  return {cmd, [] {
            fmt::print("{}", ir::opReference());
            return 0;
          }};
}

// The exit status of a command, with the compiler's own bugs told apart from the user's errors.
int guarded(const std::function<int()>& run) {
  try {
    return run();
  } catch (const std::logic_error& e) {
    fmt::print(stderr, "sinter: internal compiler error: {}\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}

// `sinter bogus`: the first word that is not a flag names no command.
std::optional<std::string> unknownCommand(int argc, char** argv, const std::vector<Command>& commands) {
  if (argc < 2 || argv[1][0] == '-') return std::nullopt;
  for (const Command& c : commands)
    if (c.app->get_name() == argv[1]) return std::nullopt;
  std::string names;
  for (const Command& c : commands) names += (names.empty() ? "" : ", ") + c.app->get_name();
  return fmt::format("unknown command '{}' (commands: {})", argv[1], names);
}

// A usage error: one line and where to read more, exit status 2 (not CLI11's own codes and usage text).
int usageError(const std::string& message, const std::vector<Command>& commands) {
  // Under mpirun every process parses the same command line: rank 0 alone says what is wrong with it.
  if (tool::mpiLaunch().rank > 0) return 2;
  std::string where = "sinter";
  for (const Command& c : commands)
    if (c.app->parsed()) where += " " + c.app->get_name();
  fmt::print(stderr, "sinter: error: {}\nRun '{} --help' for more information.\n", message, where);
  return 2;
}

std::string versionText() {
  return fmt::format("sinter {} (Sinter runtime {}, LLVM {})", SINTER_VERSION, sinter_version(), LLVM_VERSION_STRING);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Sinter: an ahead-of-time compiler for deep-learning models.\n"
      "Compiles a model file (.sn) into native code through LLVM: a training executable, a library with a C\n"
      "header, an object file, or IR dumps of every stage; or compiles it in process to train, evaluate or\n"
      "time it. `import` looks in the importing file's directory, the -I directories, SINTER_PATH (colon-\n"
      "separated) and the standard library (share/sinter/lib beside the executable)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", versionText());
  Flags f;
  // `sinter train MODEL -- FLAGS`: everything after "--" belongs to the training driver, --help included.
  if (argc > 1 && std::string(argv[1]) == "train")
    for (int i = 2; i < argc; ++i)
      if (std::string(argv[i]) == "--") {
        f.driverArgs.assign(argv + i + 1, argv + argc);
        argc = i;
        break;
      }
  const std::vector<Command> commands = {
      checkCommand(app, f),  dumpCommand(app, f),   buildCommand(app, f), gradcheckCommand(app, f),
      plotCommand(app, f),   trainCommand(app, f),  runCommand(app, f),   benchCommand(app, f),
      importCommand(app, f), exportCommand(app, f), statsCommand(app, f), opsCommand(app),
  };
  if (auto unknown = unknownCommand(argc, argv, commands)) return usageError(*unknown, commands);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return usageError(e.what(), commands);
  }
  frontend::defaultOptions().includeDirs = f.model.includeDirs;
  for (const std::string& d : tool::sinterPathDirs()) frontend::defaultOptions().includeDirs.push_back(d);
  onnxio::installOnnxLayers();  // `import "backbone.onnx" as Backbone` in model files
  for (const Command& c : commands)
    if (*c.app) return guarded(c.run);
  return 0;
}
