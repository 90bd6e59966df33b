// Generated code of loops: the loop kernel of a scan (its body a function of its own, called per step) against
// the f64 reference interpreter, forward and train step (the saving loop and the reverse loop), for fixed trip
// counts and for one compiled library run at several trip counts.
#include <catch2/catch.hpp>
#include <random>

#include "compiler/codegen/kernel_plan.h"
#include "jit_harness.h"
#include "scan_graphs.h"

using namespace sinter;

namespace {

// Arguments with `batch` rows and `steps` steps: every symbolic dimension bound by its name.
std::map<std::string, ir::Tensor> argsAt(const ir::Graph& g, std::int64_t batch, std::int64_t steps,
                                         std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<std::string, ir::Tensor> args;
  for (const auto* list : {&g.inputs, &g.params})
    for (ir::NodeId id : *list) {
      std::vector<std::int64_t> shape;
      for (const ir::Dim& dim : g.node(id).type.shape)
        shape.push_back(!dim.isSymbolic() ? dim.size : dim.symbol == "seq" ? steps : batch);
      args[g.node(id).name] = test::randomTensor(shape, rng, 0.7);
    }
  return args;
}

// The forward pass and the train step of m, compiled once, against the interpreter at batch and steps.
void checkAt(const ir::Module& m, const codegen::JitModel& jit, std::int64_t batch, std::int64_t steps) {
  INFO("batch " << batch << ", " << steps << " steps");
  std::vector<std::int64_t> syms;  // in the order of the forward graph's symbols, as the ABI says
  for (const std::string& s : m.forward.symbols()) syms.push_back(s == "seq" ? steps : batch);
  const auto seed = static_cast<std::uint64_t>(batch * 100 + steps);
  {
    INFO("forward");
    test::compareWithInterpreter(m.forward, jit.descriptor()->forward, argsAt(m.forward, batch, steps, seed), syms);
  }
  INFO("train step");
  test::compareWithInterpreter(m.trainStep, jit.descriptor()->train_step, argsAt(m.trainStep, batch, steps, seed),
                               syms);
}

std::size_t loopKernels(const ir::Graph& g) {
  std::size_t n = 0;
  for (const ir::FusionGroup& k : codegen::planKernels(g).kernels) n += k.kind == ir::KernelKind::Loop;
  return n;
}

}  // namespace

TEST_CASE("a compiled scan with a fixed trip count matches the interpreter, forward and in reverse") {
  for (bool reverse : {false, true}) {
    INFO((reverse ? "reverse" : "forward"));
    const ir::Module m = test::makeModule(test::rnnGraph(5, reverse));
    auto jit = test::compileJit(m);
    checkAt(m, *jit, 3, 5);
  }
}

TEST_CASE("one compiled scan runs sequences of different lengths: the trip count is bound at run time") {
  for (bool reverse : {false, true}) {
    INFO((reverse ? "reverse" : "forward"));
    const ir::Module m = test::makeModule(test::rnnGraph(std::nullopt, reverse));
    auto jit = test::compileJit(m);
    for (std::int64_t steps : {1, 4, 9}) checkAt(m, *jit, 2, steps);
  }
}

TEST_CASE("a compiled scan with two carries, two sequences and stacked results, time-major or not") {
  for (std::int64_t axis : {0, 1})
    for (bool reverse : {false, true}) {
      INFO("axis " << axis << (reverse ? ", reverse" : ""));
      const ir::Module m = test::makeModule(test::gatedGraph(axis, reverse));
      auto jit = test::compileJit(m);
      for (std::int64_t steps : {2, 5}) checkAt(m, *jit, 3, steps);
    }
}

TEST_CASE("the results of one loop are one loop kernel; its body is lowered once") {
  const ir::Module m = test::makeModule(test::gatedGraph(0));
  // The forward graph's four scan nodes are one loop.
  const codegen::KernelProgram p = codegen::planKernels(m.forward);
  std::size_t loops = 0;
  for (const ir::FusionGroup& k : p.kernels)
    if (k.kind == ir::KernelKind::Loop) {
      ++loops;
      CHECK(k.nodes.size() == 4);
      CHECK(k.stored == k.nodes);
    }
  CHECK(loops == 1);
  const codegen::LoweredGraph l = codegen::lowerGraph(m.forward, m.forward.symbols(), {{"batch", 8}, {"seq", 8}});
  REQUIRE(l.program.bodies.size() == 1);
  const codegen::LoweredGraph& body = *l.program.bodies.begin()->second;
  CHECK(body.buffers.numBuffers == 6 + 4);  // one per body input, one per body result
  // The train step: a loop that saves (the forward results share it) and the reverse loops.
  CHECK(loopKernels(m.trainStep) >= 2);
}
