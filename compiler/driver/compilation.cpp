#include "compiler/driver/compilation.h"

#include <fmt/format.h>
#include <llvm/Support/raw_ostream.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include "compiler/autodiff/autodiff.h"
#include "compiler/codegen/emit_module.h"
#include "compiler/codegen/jit.h"
#include "compiler/codegen/parallel_codegen.h"
#include "compiler/codegen/target.h"
#include "compiler/ir/parser.h"
#include "compiler/passes/fusion_groups.h"
#include "compiler/passes/pipeline.h"
#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"

namespace sinter::driver {
namespace {

void verifyOrThrow(const ir::Graph& g, const char* after) {
  auto errs = ir::verify(g);
  if (errs.empty()) return;
  std::string msg = fmt::format("graph @{} is invalid after {}:", g.name, after);
  for (const auto& e : errs) msg += "\n  " + e;
  throw std::logic_error(msg);
}

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream os(path, std::ios::binary | std::ios::trunc);
  os.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  os.close();
  if (!os) throw std::runtime_error(fmt::format("cannot write '{}'", path));
}

// The passes of --passes, each once, in the order given.
std::vector<passes::PipelineEntry> customPipeline(const std::vector<std::string>& names) {
  std::vector<passes::PipelineEntry> custom;
  for (const std::string& name : names) {
    const auto& all = passes::allPasses();
    auto it = std::find_if(all.begin(), all.end(), [&](const passes::Pass& p) { return p.name == name; });
    if (it == all.end()) {
      std::string known;
      for (const passes::Pass& p : all) known += (known.empty() ? "" : ", ") + std::string(p.name);
      throw std::runtime_error(fmt::format("unknown pass '{}' (passes: {})", name, known));
    }
    custom.push_back({*it, passes::Repeat::Once, "asked for with --passes"});
  }
  return custom;
}

}  // namespace

Compilation::Compilation(std::string path, Options opts) : path_(std::move(path)), opts_(std::move(opts)) {}

Compilation::Compilation(ir::Module m, Options opts) : path_(m.name), opts_(std::move(opts)) {
  verifyOrThrow(m.forward, "construction");
  if (!m.trainStep.nodes.empty()) {
    verifyOrThrow(m.trainStep, "construction");
    grad_ = m;
    m.trainStep = {};
  }
  graph_ = std::move(m);
}

bool Compilation::ok() {
  if (graph_ || failed_) return !failed_;
  const double start = now();
  std::optional<ir::Module> m;
  if (onnxio::isOnnxFile(path_)) {  // an ONNX model enters the same pipeline as a model file
    if (auto imported = onnxio::importFile(path_, diags_)) m = std::move(imported->module);
  } else {
    m = frontend::compileFile(path_, diags_);
  }
  if (!m || diags_.hasErrors()) {
    failed_ = true;
    return false;
  }
  verifyOrThrow(m->forward, "the frontend");
  if (m->trainForward) verifyOrThrow(*m->trainForward, "the frontend (train mode)");
  graph_ = std::move(m);
  timed(Stage::Graph, start);
  return true;
}

int Compilation::reportErrors() const {
  diags_.print(std::cerr);
  return 1;
}

std::optional<std::string> Compilation::ast() {
  const double start = now();
  if (onnxio::isOnnxFile(path_)) {
    diags_.error({path_, 0, 0}, "an ONNX model has no syntax tree: dump its graph (--stage=graph) instead");
    return std::nullopt;
  }
  std::optional<std::string> text = frontend::dumpAst(path_, diags_);
  timed(Stage::Ast, start);
  return text;
}

const ir::Module& Compilation::graph() {
  if (!ok()) throw std::logic_error(fmt::format("{} has errors: no graph to compile", path_));
  return *graph_;
}

const ir::Module& Compilation::grad() {
  if (grad_) return *grad_;
  const ir::Module& m = graph();
  std::string loss;
  if (m.train) {
    loss = m.train->loss;
  } else {
    for (const ir::Result& r : m.trainingGraph().results)
      if (r.kind == ir::Result::Loss && loss.empty()) loss = r.name;
  }
  if (loss.empty())
    throw std::runtime_error(fmt::format("{}: no train block and no loss result, so no loss to differentiate", path_));
  const double start = now();
  ir::Module g = m;
  g.trainStep = autodiff::buildTrainStep(m.trainingGraph(), loss, {.recomputeLoops = opts_.codegen.recomputeLoops});
  verifyOrThrow(g.trainStep, "autodiff");
  grad_ = std::move(g);
  timed(Stage::Grad, start);
  return *grad_;
}

void Compilation::optimize(ir::Graph& g) {
  passes::runPipeline(g, opts_.passList.empty() ? passes::defaultPipeline() : customPipeline(opts_.passList),
                      opts_.passes, opts_.log ? *opts_.log : std::cerr);
  verifyOrThrow(g, "the graph passes");
}

const ir::Module& Compilation::optimized() {
  if (optimized_) return *optimized_;
  ir::Module m = graph().train ? grad() : graph();
  const double start = now();
  if (m.train) optimize(m.trainStep);
  // The forward graph (sinter_forward, inference) gets the same passes, after autodiff has read it: they
  // keep its inputs, params and results, so the ABI does not change.
  optimize(m.forward);
  optimized_ = std::move(m);
  timed(Stage::Opt, start);
  return *optimized_;
}

const ir::Graph& Compilation::subject() {
  const ir::Module& m = optimized();
  return m.train ? m.trainStep : m.forward;
}

std::vector<ir::FusionGroup> Compilation::fusionGroups() { return passes::findFusionGroups(subject()); }

// Lowered, so that its loops hold their lowered bodies.
codegen::KernelProgram Compilation::kernelProgram() { return lowered(subject(), referenceBindings()).program; }

lower::MemoryPlan Compilation::memoryPlan(const lower::Bindings& b) {
  return lower::planMemory(subject(), b, kernelProgram().kernels);
}

codegen::LoweredGraph Compilation::lowered(const ir::Graph& g, const lower::Bindings& reference) {
  // The forward graph's symbols fix the order of sym_dims for every entry point.
  return codegen::lowerGraph(g, optimized().forward.symbols(), reference);
}

lower::Bindings Compilation::referenceBindings() {
  const ir::Module& m = optimized();
  const std::int64_t batch = m.train ? m.train->batch : 64;
  lower::Bindings b;
  for (const ir::Graph* g : {&m.forward, &m.trainStep})
    for (const std::string& s : g->symbols()) b.emplace(s, batch);
  return b;
}

LlvmModule Compilation::emitted() {
  const ir::Module& m = optimized();
  const double start = now();
  LlvmModule out;
  out.context = std::make_unique<llvm::LLVMContext>();
  out.target = codegen::createTargetMachine(opts_.codegen);
  // The memory planner compares candidate slots at the usual batch size; the plan holds for any.
  const lower::Bindings reference = referenceBindings();
  const codegen::LoweredGraph forward = lowered(m.forward, reference);
  std::optional<codegen::LoweredGraph> train;
  if (m.train) train = lowered(m.trainStep, reference);
  out.module = codegen::emitModule(m, forward, train ? &*train : nullptr, opts_.codegen, *out.target, *out.context);
  timed(Stage::Llvm, start);
  return out;
}

LlvmModule Compilation::llvm() {
  LlvmModule out = emitted();
  const double start = now();
  codegen::optimizeModule(*out.module, *out.target, opts_.codegen);
  timed(Stage::Llvm, start);
  return out;
}

std::vector<std::string> Compilation::objectCode(unsigned parts) {
  LlvmModule l = emitted();
  const double start = now();
  if (parts == 0) parts = codegen::codegenParts(*l.module, opts_.codegen);
  const std::string prefix = codegen::descriptorSymbol(opts_.codegen, graph().name);
  std::vector<std::string> objects = codegen::compileObjects(std::move(l.module), opts_.codegen, parts, prefix);
  timed(Stage::Object, start);
  return objects;
}

std::string Compilation::llvmText() {
  LlvmModule l = llvm();
  std::string text;
  llvm::raw_string_ostream os(text);
  l.module->print(os, nullptr);
  return text;
}

std::string Compilation::assembly() {
  LlvmModule l = llvm();
  const double start = now();
  std::string text = codegen::emitCode(*l.module, *l.target, codegen::CodeFile::Assembly);
  timed(Stage::Asm, start);
  return text;
}

void Compilation::writeObject(const std::string& path) { writeFile(path, objectCode(1).front()); }

std::vector<std::string> Compilation::writeObjects(const std::string& path) {
  const std::vector<std::string> objects = objectCode(0);
  std::vector<std::string> paths;
  try {
    for (std::size_t i = 0; i < objects.size(); ++i) {
      paths.push_back(objects.size() == 1 ? path : fmt::format("{}.{}", path, i));
      writeFile(paths.back(), objects[i]);
    }
  } catch (...) {
    for (const std::string& p : paths) std::filesystem::remove(p);
    throw;
  }
  return paths;
}

std::unique_ptr<codegen::JitModel> Compilation::jit() {
  if (!opts_.codegen.targetTriple.empty())
    throw std::runtime_error("the JIT runs on the host: --target-triple does not apply");
  std::vector<std::string> objects = objectCode(0);
  const double start = now();
  auto model = codegen::loadJit(std::move(objects), opts_.codegen.descriptor);
  timed(Stage::Object, start);
  return model;
}

double Compilation::seconds(Stage s) const {
  auto it = seconds_.find(s);
  return it == seconds_.end() ? 0 : it->second;
}

void Compilation::timed(Stage s, double since) { seconds_[s] += now() - since; }

bool isIrFile(const std::string& path) { return path.size() > 3 && path.compare(path.size() - 3, 3, ".ir") == 0; }

std::optional<std::vector<ir::Graph>> loadIrFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("cannot read '{}'", path));
  std::stringstream text;
  text << in.rdbuf();
  std::vector<ir::ParseError> errs;
  std::vector<ir::Graph> graphs = ir::parseGraphs(text.str(), path, errs);
  for (const ir::ParseError& e : errs) fmt::print(stderr, "{}\n", e.str);
  if (!errs.empty()) {
    fmt::print(stderr, "{} error{} in {}\n", errs.size(), errs.size() == 1 ? "" : "s", path);
    return std::nullopt;
  }
  if (graphs.empty()) {
    fmt::print(stderr, "error: {}: no graph in the file\n", path);
    return std::nullopt;
  }
  // The parser checks every node's type; the verifier checks the whole-graph invariants too.
  for (const ir::Graph& g : graphs) {
    auto bad = ir::verify(g);
    for (const auto& e : bad) fmt::print(stderr, "{}: error: @{}: {}\n", path, g.name, e);
    if (!bad.empty()) return std::nullopt;
  }
  return graphs;
}

}  // namespace sinter::driver
