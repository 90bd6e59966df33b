// Generated code of loops: the loop kernel of a scan (its body a function of its own, called per step) against
// the f64 reference interpreter, forward and train step (the saving loop and the reverse loop), for fixed trip
// counts and for one compiled library run at several trip counts.
#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <random>

#include "compiler/codegen/kernel_plan.h"
#include "compiler/ir/parser.h"
#include "jit_harness.h"
#include "scan_graphs.h"

using namespace sinter;

namespace {

using test::argsAt;

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
    // The default pipeline's passes (CSE, folding, fusion) keep the loop: the same results.
    auto optimized = driver::Compilation(m).jit();
    for (std::int64_t steps : {3, 7}) checkAt(m, *optimized, 5, steps);
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

TEST_CASE("recomputing loops: the saving loop stacks only the carries, and the train step still matches") {
  for (std::int64_t axis : {0, 1}) {
    INFO("axis " << axis);
    // The saving body's results: the forward body's 4, the 2 carries entering each step, and (stored) residuals.
    auto savingResults = [](const ir::Graph& g) {
      for (const ir::Node& n : g.nodes)
        if (n.op == ir::Op::Scan && n.body->name == "gated.saving") return n.body->results.size();
      return std::size_t{0};
    };
    const ir::Module stored = test::makeModule(test::gatedGraph(axis, false));
    const ir::Module m = test::makeModule(test::gatedGraph(axis, false), {.recomputeLoops = true});
    CHECK(savingResults(stored.trainStep) > 6);
    CHECK(savingResults(m.trainStep) == 6);
    // The reverse body recomputes the step's products from the saved carries: h·u is a matmul in it again.
    bool recomputed = false;
    for (const ir::Node& n : m.trainStep.nodes)
      if (n.op == ir::Op::Scan && n.body->name == "gated.reverse")
        for (const ir::Node& b : n.body->nodes) recomputed = recomputed || b.op == ir::Op::MatMul;
    CHECK(recomputed);
    auto jit = test::compileJit(m);
    for (std::int64_t steps : {2, 5}) checkAt(m, *jit, 3, steps);
  }
}

TEST_CASE("a scan inside a scan's body: the inner loop kernel is emitted inside the outer body's function") {
  // Outer steps over xs[seq, 2, batch, 3] (time-major); each runs the RNN cell over its two sub-steps.
  auto cell = test::rnnCell(3, 4);
  auto body = std::make_shared<ir::Graph>();
  body->name = "outer";
  auto h = body->addInput("h", test::f32({test::batch(), test::d(4)}));
  auto x = body->addInput("x", test::f32({test::d(2), test::batch(), test::d(3)}));
  auto wx = body->addInput("wx", test::f32({test::d(3), test::d(4)}));
  auto wh = body->addInput("wh", test::f32({test::d(4), test::d(4)}));
  auto b = body->addInput("b", test::f32({test::d(4)}));
  const ir::ScanShape inner{.axis = 0, .carries = 1, .seqs = 1, .result = 0, .reverse = false};
  auto next = test::addScan(*body, cell, {h, x, wx, wh, b}, inner, 0);
  body->results = {{"h", next, ir::Result::Output}, {"y", next, ir::Result::Output}};

  ir::Graph g;
  g.name = "Nested";
  auto h0 = g.addInput("h0", test::f32({test::batch(), test::d(4)}));
  auto xs = g.addInput("xs", test::f32({ir::Dim::sym("seq"), test::d(2), test::batch(), test::d(3)}));
  auto pwx = g.addParam("wx", test::f32({test::d(3), test::d(4)}), {ir::Init::GlorotUniform});
  auto pwh = g.addParam("wh", test::f32({test::d(4), test::d(4)}), {ir::Init::GlorotUniform});
  auto pb = g.addParam("b", test::f32({test::d(4)}), {ir::Init::Zeros});
  const ir::ScanShape outer{.axis = 0, .carries = 1, .seqs = 1, .result = 0, .reverse = true};
  auto ys = test::addScan(g, body, {h0, xs, pwx, pwh, pb}, outer, 1);
  auto sq = g.addOp(ir::Op::Mul, {ys, ys});
  auto loss =
      g.addOp(ir::Op::ReduceMean, {sq},
              ir::Attrs::of({{"axes", std::vector<std::int64_t>{0, 1, 2}}, {"keepdims", std::int64_t{0}}}), {}, "loss");
  g.results = {{"ys", ys, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  REQUIRE(ir::verify(g).empty());
  const ir::Module m = test::makeModule(g);
  auto jit = test::compileJit(m);
  for (std::int64_t steps : {1, 3}) checkAt(m, *jit, 2, steps);
}

TEST_CASE("the results of one loop are one loop kernel, its body is lowered once") {
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

TEST_CASE("in a train step the forward loop is its gradient's saving loop: one loop kernel runs both") {
  const ir::Module m = test::makeModule(test::rnnGraph(std::nullopt));
  const codegen::KernelProgram p = codegen::planKernels(m.trainStep);
  std::vector<const ir::FusionGroup*> loops;
  for (const ir::FusionGroup& k : p.kernels)
    if (k.kind == ir::KernelKind::Loop) loops.push_back(&k);
  // The forward loop (ys, h) and the two saving loops (one per differentiated result: the carry entering each
  // step and the residuals), then two reverse loops.
  REQUIRE(loops.size() == 3);
  const ir::Graph& saving = *codegen::loopBody(m.trainStep, *loops[0]).body;
  CHECK(saving.name == "cell.saving");
  REQUIRE(saving.results.size() > 3);
  CHECK(saving.results[3].name.starts_with("kept."));
  CHECK(loops[0]->nodes.size() == 2 + 2 * (saving.results.size() - 2));
  for (const ir::FusionGroup* k : {loops[1], loops[2]})
    CHECK(codegen::loopBody(m.trainStep, *k).body->name == "cell.reverse");
}

namespace {

// An Elman RNN (28 inputs, 128 hidden) over `steps` steps (a number, or `seq`), with loss mean(h²).
std::string rnnIr(const std::string& steps) {
  return fmt::format(R"(graph @rnn(%h0: f32[batch,128] input, %xs: f32[batch,{},28] input,
    %wx: f32[28,128] param = glorot_uniform, %wh: f32[128,128] param = glorot_uniform, %b: f32[128] param = zeros) {{
  %5 = scan(%h0, %xs, %wx, %wh, %b) {{axis = 1, carries = 1, seqs = 1, result = 0, reverse = 0}} : f32[batch,128] body graph @cell(
      %h: f32[batch,128] input, %x: f32[batch,28] input, %wx: f32[28,128] input, %wh: f32[128,128] input,
      %b: f32[128] input) {{
    %1 = matmul(%x, %wx) : f32[batch,128]
    %2 = matmul(%h, %wh) : f32[batch,128]
    %3 = add(%1, %2) : f32[batch,128]
    %4 = add(%3, %b) : f32[batch,128]
    %5 = tanh(%4) : f32[batch,128]
    return
      output "h" = %5
  }}
  %6 = mul(%5, %5) : f32[batch,128]
  %7 = reduce_mean(%6) {{axes = [0, 1], keepdims = 0}} : f32[]
  return
    output "h" = %5,
    loss "loss" = %7
}}
)",
                     steps);
}

// The runtime's scratch hook, as it keeps the arena and the kernels' buffers between calls (one thread): without
// it every call allocates its arena, and page faults on a long sequence's stacks would dominate the time.
void* keptScratch(std::int32_t slot, std::int64_t bytes) {
  static std::array<std::pair<void*, std::int64_t>, SINTER_SCRATCH_SLOTS> kept{};
  auto& [p, size] = kept.at(static_cast<std::size_t>(slot));
  if (size < bytes) {
    std::free(p);
    size = (bytes + 63) / 64 * 64;
    p = std::aligned_alloc(64, static_cast<std::size_t>(size));
  }
  return p;
}

}  // namespace

namespace {

// Median, p25 and p75 in ms of 21 calls of `fn` on random arguments of g with `batch` rows and `steps` steps.
std::array<double, 3> timeEntry(const ir::Graph& g, const std::vector<std::string>& symbols, sinter_entry_fn fn,
                                std::int64_t batch, std::int64_t steps) {
  using Clock = std::chrono::steady_clock;
  auto args = argsAt(g, batch, steps, 1);
  std::vector<std::vector<float>> data;
  std::vector<void*> buffers;
  for (const auto* list : {&g.inputs, &g.params})
    for (ir::NodeId id : *list) {
      const auto& v = args.at(g.node(id).name).data;
      buffers.push_back(data.emplace_back(v.begin(), v.end()).data());
    }
  for (std::size_t r = 0; r < g.results.size(); ++r) buffers.push_back(data.emplace_back(std::size_t{1} << 20).data());
  std::vector<std::int64_t> syms;
  for (const std::string& s : symbols) syms.push_back(s == "seq" ? steps : batch);
  syms.push_back(0);
  std::vector<double> ms;
  for (int i = 0; i < 21; ++i) {
    const auto at = Clock::now();
    fn(buffers.data(), syms.data());
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - at).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[10], ms[5], ms[15]};
}

}  // namespace

// Not a test: compile time, forward and train-step time of the RNN over 28 and 784 steps (batch 64, JIT with a
// kept scratch and without the runtime's threads), printed. Run it by its tag: sinter_compiler_tests "[.bench]"
TEST_CASE("bench: compile and train-step time of an RNN scan over 28 and 784 steps", "[.bench]") {
  using Clock = std::chrono::steady_clock;
  const std::int64_t batch = 64;
  // SINTER_BENCH_UNROLLED=FILE.sn: the same net unrolled by the front end over 28 steps, timed the same way.
  const char* unrolled = std::getenv("SINTER_BENCH_UNROLLED");
  for (const std::string steps : {"28", "784", "seq", "unrolled"}) {
    if (steps == "unrolled" && !unrolled) continue;
    const auto start = Clock::now();
    std::optional<driver::Compilation> c;
    if (steps == "unrolled") {
      c.emplace(unrolled);
      REQUIRE(c->ok());
    } else {
      std::vector<ir::ParseError> errs;
      std::optional<ir::Graph> g = ir::parseGraph(rnnIr(steps), "rnn.ir", errs);
      REQUIRE(errs.empty());
      c.emplace(test::makeModule(*g));
    }
    auto jit = c->jit();
    *jit->descriptor()->scratch = &keptScratch;
    const ir::Module& m = c->optimized();
    const double compile = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    for (std::int64_t t : {std::int64_t{28}, std::int64_t{784}}) {
      if (steps != "seq" && steps != std::to_string(t) && (steps != "unrolled" || t != 28)) continue;
      const auto f = timeEntry(m.forward, m.forward.symbols(), jit->descriptor()->forward, batch, t);
      const auto s = timeEntry(m.trainStep, m.forward.symbols(), jit->descriptor()->train_step, batch, t);
      fmt::print(
          "rnn {:>8} at {:>3} steps, batch {}: compile {:.0f} ms; median forward {:.2f} ms (p25 {:.2f}, p75 {:.2f}), "
          "train step {:.2f} ms (p25 {:.2f}, p75 {:.2f})\n",
          steps, t, batch, compile, f[0], f[1], f[2], s[0], s[1], s[2]);
    }
  }
}

TEST_CASE("dropout inside a loop body is not compiled yet: a clear error naming the scan and the op") {
  auto body = std::make_shared<ir::Graph>(*test::rnnCell(3, 4));
  const ir::NodeId y = body->results[1].node;
  body->results[1].node = body->addOp(ir::Op::Dropout, {y}, ir::Attrs::of({{"p", 0.5}, {"salt", std::int64_t{1}}}));
  ir::Graph g = test::rnnGraph(4);
  for (ir::Node& n : g.nodes)
    if (n.op == ir::Op::Scan) n.body = body;
  CHECK_THROWS_WITH(
      codegen::planKernels(g),
      Catch::Contains("scan at <no location>: code generation does not compile dropout inside a loop body"));
}
