// The `sinter` command line: check, dump, build, train, run and bench a model file.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <iostream>

#include "compiler/ir/op_table.h"
#include "frontend/frontend.h"
#include "tools/sinter/commands.h"

namespace {

void addCodegenFlags(CLI::App* cmd, sinter::codegen::Options& o) {
  cmd->add_option("--target-cpu", o.targetCpu, "CPU to generate code for (default: this machine's)");
  cmd->add_option("--target-triple", o.targetTriple, "Target triple for cross compilation (default: host)");
  cmd->add_option("-O", o.optLevel, "LLVM optimization level")->check(CLI::Range(0, 3))->default_val(3);
}

// The commands that compile in this process (train, run, bench): the JIT targets this machine.
void addJitFlags(CLI::App* cmd, sinter::codegen::Options& o) {
  cmd->add_option("--target-cpu", o.targetCpu, "CPU to generate code for (default: this machine's)");
  // -O0 skips LLVM's optimizer (faster to compile, slower to run), e.g. while debugging a model.
  cmd->add_option("-O", o.optLevel, "LLVM optimization level")->check(CLI::Range(0, 3))->default_val(3);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Sinter: an ahead-of-time compiler for deep-learning models.\n"
      "Compiles a model file (.sn) into native code through LLVM: a training executable, an object file,\n"
      "or IR dumps of every stage; or compiles it in process to train, evaluate or time it.\n"
      "See docs/ for the language and the IR."};
  app.require_subcommand(1);
  std::string path;
  std::vector<std::string> includeDirs;  // -I: where `import` looks, before the standard library
  auto addIncludeFlag = [&](CLI::App* cmd) {
    cmd->add_option("-I,--include", includeDirs, "Directory searched by `import` (repeatable)");
  };

  CLI::App* check = app.add_subcommand("check", "Parse and shape-check a model; report every error");
  check->add_option("model", path, "Model file")->required();
  addIncludeFlag(check);

  sinter::tool::DumpOptions dump;
  std::string stages = "graph,grad";
  CLI::App* dumpCmd = app.add_subcommand("dump", "Print a stage of the pipeline");
  dumpCmd->add_option("model", path, "Model file (.sn) or Graph IR (.ir)")->required();
  addIncludeFlag(dumpCmd);
  dumpCmd
      ->add_option(
          "--stage", stages,
          "Comma-separated stages: ast, graph (forward), grad (forward + backward), "
          "opt (after graph passes), fusion (opt with fusion groups), kernel (the kernels code generation emits), "
          "memory (memory plan of the optimized train step), "
          "llvm, asm")
      ->capture_default_str();
  addCodegenFlags(dumpCmd, dump.codegen);
  sinter::tool::addDumpFlags(dumpCmd, dump);

  sinter::tool::BuildOptions build;
  CLI::App* buildCmd = app.add_subcommand(
      "build",
      "Compile a model to a training executable, a library with a C header, an object file, LLVM IR or assembly");
  buildCmd->add_option("model", path, "Model file")->required();
  addIncludeFlag(buildCmd);
  buildCmd->add_option("--emit", build.emit, "What to produce")
      ->check(CLI::IsMember({"exe", "obj", "static", "shared", "header", "llvm", "asm"}))
      ->capture_default_str();
  buildCmd->add_option("-o,--output", build.output, "Output file (default: the model's name with a fitting suffix)");
  addCodegenFlags(buildCmd, build.codegen);

  sinter::tool::GradCheckOptions gradcheck;
  CLI::App* gradCmd = app.add_subcommand(
      "gradcheck", "Compare every parameter's gradient with central finite differences (f64, reference interpreter)");
  gradCmd->add_option("model", path, "Model file")->required();
  gradCmd->add_option("--param", gradcheck.param, "Check only this parameter");
  gradCmd->add_option("--eps", gradcheck.eps, "Finite-difference step")->capture_default_str();
  gradCmd->add_option("--tolerance", gradcheck.tolerance, "Largest accepted min(abs, rel) error")
      ->capture_default_str();
  gradCmd->add_option("--seed", gradcheck.seed, "Seed of the random inputs and parameters")->capture_default_str();
  gradCmd->add_option("--batch", gradcheck.batch, "Value of every symbolic dimension")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  gradCmd->add_option("--samples", gradcheck.samples, "Elements checked per parameter")
      ->check(CLI::Range(1, 1 << 30))
      ->capture_default_str();

  std::string plotOutput = "curves.svg";
  CLI::App* plotCmd =
      app.add_subcommand("plot", "Draw the loss and accuracy curves of a metrics file (JSON Lines) as SVG");
  plotCmd->add_option("metrics", path, "Metrics file written by --metrics")->required();
  plotCmd->add_option("-o,--output", plotOutput, "SVG file to write")->capture_default_str();

  sinter::codegen::Options trainCodegen;
  CLI::App* train = app.add_subcommand("train",
                                       "JIT-compile a model and train it now; other flags go to the training driver "
                                       "(`sinter train MODEL -- --help` lists them)");
  train->add_option("model", path, "Model file")->required();
  addIncludeFlag(train);
  train->prefix_command();  // everything after the model file goes to the driver untouched
  addJitFlags(train, trainCodegen);

  sinter::tool::RunOptions run;
  CLI::App* runCmd = app.add_subcommand(
      "run",
      "JIT-compile a trained model and evaluate its weights on a test set: loss, accuracy, throughput, "
      "and the predictions for every sample with --predictions");
  runCmd->add_option("model", path, "Model file")->required();
  addIncludeFlag(runCmd);
  addJitFlags(runCmd, run.codegen);
  sinter::tool::addRunFlags(runCmd, run);

  sinter::tool::BenchOptions bench;
  CLI::App* benchCmd =
      app.add_subcommand("bench",
                         "JIT-compile a model and time its forward pass and train step on random inputs: median and "
                         "quartiles per call, samples per second, and the compile time");
  benchCmd->add_option("model", path, "Model file")->required();
  addIncludeFlag(benchCmd);
  addJitFlags(benchCmd, bench.codegen);
  sinter::tool::addBenchFlags(benchCmd, bench);

  CLI::App* opsCmd = app.add_subcommand(
      "ops", "Print the op reference of the Graph IR (docs/ir.md's, generated from the op table) as Markdown");

  // `sinter train MODEL -- FLAGS`: everything after "--" belongs to the training driver, --help included.
  std::vector<std::string> driverArgs;
  if (argc > 1 && std::string(argv[1]) == "train")
    for (int i = 2; i < argc; ++i)
      if (std::string(argv[i]) == "--") {
        driverArgs.assign(argv + i + 1, argv + argc);
        argc = i;
        break;
      }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  sinter::frontend::defaultOptions().includeDirs = includeDirs;
  try {
    if (*check) return sinter::tool::runCheck(path);
    if (*dumpCmd) {
      for (auto s : CLI::detail::split(stages, ',')) dump.stages.push_back(CLI::detail::trim_copy(s));
      return sinter::tool::runDump(path, dump);
    }
    if (*buildCmd) return sinter::tool::runBuild(path, build);
    if (*gradCmd) return sinter::tool::runGradCheck(path, gradcheck);
    if (*plotCmd) return sinter::tool::runPlot(path, plotOutput);
    if (*runCmd) return sinter::tool::runModel(path, run);
    if (*benchCmd) return sinter::tool::runBench(path, bench);
    if (*opsCmd) {
      fmt::print("{}", sinter::ir::opReference());
      return 0;
    }
    if (*train) {
      std::vector<std::string> extra = train->remaining();
      extra.insert(extra.end(), driverArgs.begin(), driverArgs.end());
      return sinter::tool::runTrain(path, trainCodegen, extra);
    }
  } catch (const std::logic_error& e) {
    fmt::print(stderr, "sinter: internal compiler error: {}\n", e.what());
    return 3;
  } catch (const std::exception& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
