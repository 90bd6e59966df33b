// Runs JIT-compiled entry points on the same arguments the reference interpreter gets.
#pragma once

#include <catch2/catch.hpp>
#include <thread>

#include "compiler/autodiff/autodiff.h"
#include "compiler/codegen/codegen.h"
#include "compiler/codegen/kernel_plan.h"
#include "compiler/codegen/loop_ir.h"
#include "compiler/driver/compilation.h"
#include "compiler/passes/dce.h"
#include "test_graphs.h"

namespace sinter::test {

// A module whose train step differentiates the result named "loss".
inline ir::Module makeModule(ir::Graph g, const autodiff::GradOptions& grad = {}) {
  ir::Module m;
  m.name = g.name;
  m.forward = std::move(g);
  m.train = ir::TrainConfig{};
  m.trainStep = autodiff::buildTrainStep(m.forward, "loss", grad);
  passes::eliminateDeadCode(m.trainStep);
  return m;
}

// The module compiled through the pipeline (compiler/driver) to its JIT, with dead-code elimination for its only
// graph pass: these tests check code generation on the graphs as they were built, ops and all.
inline std::unique_ptr<codegen::JitModel> compileJit(const ir::Module& m, codegen::Options o = {}) {
  driver::Options d;
  d.codegen = std::move(o);
  d.passList = {"dce"};
  return driver::Compilation(m, d).jit();
}

// The loop nests of every kernel of `g`, printed one after the other (as `sinter dump --stage=kernel` shows
// them) for the target `t`: tests find a schedule's choices by the roles of its loops.
inline std::string printSchedule(const ir::Graph& g, const codegen::loop::Target& t = {}) {
  std::string out;
  for (const ir::FusionGroup& k : codegen::planKernels(g).kernels)
    out += codegen::loop::print(g, codegen::scheduleKernel(g, k, t), 0);
  return out;
}

// A parallel_for hook: two threads, each running half of the parallel loop's chunks.
inline void twoThreads(sinter_parallel_body body, void* env, std::int64_t count, std::int64_t) {
  std::thread other(body, env, count / 2, count);
  body(env, 0, count / 2);
  other.join();
}

// Runs `fn` on the graph's arguments (converted to each argument's dtype) and returns its results as doubles.
// syms are the symbolic dimensions' values; the seed for random ops follows them, as the ABI says.
inline std::vector<std::vector<double>> runEntry(sinter_entry_fn fn, const ir::Graph& g,
                                                 const std::map<std::string, ir::Tensor>& args,
                                                 std::vector<std::int64_t> syms, std::uint64_t seed = 0) {
  syms.resize(g.symbols().size());  // only the graph's own symbols come before the seed
  syms.push_back(static_cast<std::int64_t>(seed));
  std::vector<std::vector<float>> f32s;
  std::vector<std::vector<double>> f64s;
  std::vector<std::vector<std::int32_t>> i32s;
  f32s.reserve(256);
  f64s.reserve(256);
  i32s.reserve(256);
  std::vector<void*> buffers;
  auto add = [&](ir::DType t, std::size_t n, const double* src) {
    switch (t) {
      case ir::DType::F32:
        buffers.push_back(
            f32s.emplace_back(src ? std::vector<float>(src, src + n) : std::vector<float>(n, -999.f)).data());
        break;
      case ir::DType::F64:
        buffers.push_back(
            f64s.emplace_back(src ? std::vector<double>(src, src + n) : std::vector<double>(n, -999.0)).data());
        break;
      case ir::DType::I32:
        buffers.push_back(
            i32s.emplace_back(src ? std::vector<std::int32_t>(src, src + n) : std::vector<std::int32_t>(n, -999))
                .data());
        break;
    }
  };
  for (const auto* list : {&g.inputs, &g.params})
    for (ir::NodeId id : *list) {
      const ir::Tensor& t = args.at(g.node(id).name);
      add(g.node(id).type.dtype, t.data.size(), t.data.data());
    }
  auto all = ir::interpretAll(g, args, {false, 0});  // for result sizes
  const std::size_t firstResult = buffers.size();
  for (const ir::Result& r : g.results)
    add(g.node(r.node).type.dtype, all[static_cast<std::size_t>(r.node)].data.size(), nullptr);
  fn(buffers.data(), syms.data());
  std::vector<std::vector<double>> res;
  for (std::size_t r = 0; r < g.results.size(); ++r) {
    const std::size_t n = all[static_cast<std::size_t>(g.results[r].node)].data.size();
    void* p = buffers[firstResult + r];
    switch (g.node(g.results[r].node).type.dtype) {
      case ir::DType::F32: res.emplace_back(static_cast<float*>(p), static_cast<float*>(p) + n); break;
      case ir::DType::F64: res.emplace_back(static_cast<double*>(p), static_cast<double*>(p) + n); break;
      case ir::DType::I32: res.emplace_back(static_cast<std::int32_t*>(p), static_cast<std::int32_t*>(p) + n); break;
    }
  }
  return res;
}

// Checks that the generated entry point computes what the interpreter computes (f32 tolerances).
// mode.training must say which entry point fn is: the forward pass (false) or the train step (true).
inline void compareWithInterpreter(const ir::Graph& g, sinter_entry_fn fn,
                                   const std::map<std::string, ir::Tensor>& args, const std::vector<std::int64_t>& syms,
                                   double eps = 1e-4, double margin = 1e-5, ir::RunMode mode = {}) {
  auto expect = ir::interpret(g, args, mode);
  auto got = runEntry(fn, g, args, syms, mode.seed);
  REQUIRE(got.size() == expect.size());
  for (std::size_t r = 0; r < got.size(); ++r) {
    INFO("result " << g.results[r].name);
    REQUIRE(got[r].size() == expect[r].data.size());
    for (std::size_t k = 0; k < got[r].size(); ++k) {
      INFO("element " << k);
      CHECK(got[r][k] == Approx(expect[r].data[k]).epsilon(eps).margin(margin));
    }
  }
}

// A model's forward pass and train step compiled for `cpu` ("" for the host) against the interpreter, run
// with `images` for the batch (f32 tolerances), then the forward pass's first result against `bits`
// exactly, on one thread and with its parallel loops split over two.
inline void checkJitAndBits(const ir::Module& m, const std::string& cpu,
                            const std::map<std::string, ir::Tensor>& args, std::int64_t images,
                            const std::vector<double>& bits) {
  codegen::Options options;
  options.targetCpu = cpu;
  auto jit = compileJit(m, options);
  const sinter_model_desc* desc = jit->descriptor();
  compareWithInterpreter(m.forward, desc->forward, args, {images}, 1e-4, 1e-4, {false, 0});
  compareWithInterpreter(m.trainStep, desc->train_step, args, {images}, 1e-4, 1e-4, {true, 1});
  *desc->parallel_for = nullptr;
  CHECK(runEntry(desc->forward, m.forward, args, {images})[0] == bits);
  *desc->parallel_for = twoThreads;
  CHECK(runEntry(desc->forward, m.forward, args, {images})[0] == bits);
  *desc->parallel_for = nullptr;
}

}  // namespace sinter::test
