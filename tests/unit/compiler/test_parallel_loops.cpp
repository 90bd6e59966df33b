// Parallel loops: the outlined kernel bodies compute exactly their [begin, end) share, whatever the
// chunks, their order or their threads, and give the same bits as the whole range in one call.
#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>

#include "compiler/codegen/kernel_emitter.h"
#include "compiler/codegen/kernel_plan.h"
#include "jit_harness.h"

using namespace sinter;
using ir::Op;

namespace {

ir::Attrs window(std::vector<std::int64_t> kernel, std::vector<std::int64_t> stride,
                 std::vector<std::int64_t> padding) {
  ir::Attrs a;
  a.set("kernel", std::move(kernel));
  a.set("stride", std::move(stride));
  a.set("padding", std::move(padding));
  return a;
}

ir::Attrs convAttrs() {
  ir::Attrs a;
  a.set("stride", std::vector<std::int64_t>{1, 1});
  a.set("padding", std::vector<std::int64_t>{1, 1});
  a.set("dilation", std::vector<std::int64_t>{1, 1});
  return a;
}

// Two convolutions (the second needs conv2d_grad_input), both poolings and matmuls, one with a fused
// epilogue: every kernel that runs as a parallel loop, forward and backward. Each convolution has its bias
// and ReLU as an epilogue: the first (direct) on its register tiles, the second (im2col) per image.
ir::Graph smallConvNet() {
  using test::batch;
  using test::d;
  using test::f32;
  ir::Graph g;
  g.name = "ParallelNet";
  auto x = g.addInput("x", f32({batch(), d(2), d(9), d(8)}));
  auto y = g.addInput("y", {ir::DType::I32, {batch()}});
  auto w1 = g.addParam("w1", f32({d(4), d(2), d(3), d(3)}), {});
  auto w2 = g.addParam("w2", f32({d(6), d(4), d(3), d(3)}), {});
  auto b1 = g.addParam("b1", f32({d(4), d(1), d(1)}), {});
  auto b2 = g.addParam("b2", f32({d(6), d(1), d(1)}), {});
  auto v = g.addParam("v", f32({d(24), d(16)}), {});
  auto c = g.addParam("c", f32({d(16)}), {});
  auto u = g.addParam("u", f32({d(16), d(10)}), {});
  auto h1 =
      g.addOp(Op::AvgPool2D, {g.addOp(Op::Relu, {g.addOp(Op::Add, {g.addOp(Op::Conv2D, {x, w1}, convAttrs()), b1})})},
              window({2, 2}, {2, 2}, {0, 0}));
  auto h2 =
      g.addOp(Op::MaxPool2D, {g.addOp(Op::Relu, {g.addOp(Op::Add, {g.addOp(Op::Conv2D, {h1, w2}, convAttrs()), b2})})},
              window({2, 2}, {2, 2}, {0, 0}));
  auto flat = g.addTyped(Op::Reshape, {h2}, f32({batch(), d(24)}));
  // A GEMM with a fused epilogue (bias, activation; backward: the activation gradient).
  auto hidden = g.addOp(Op::Tanh, {g.addOp(Op::Add, {g.addOp(Op::MatMul, {flat, v}), c})});
  auto logits = g.addOp(Op::MatMul, {hidden, u});
  auto loss = g.addOp(Op::CrossEntropy, {logits, y});
  g.results = {{"logits", logits, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  return g;
}

int gCalls = 0;

// Runs the chunks [count-1, count), [1, count-1), [0, 1) in that order on the calling thread.
void reversedChunks(sinter_parallel_body body, void* env, std::int64_t count, std::int64_t work) {
  ++gCalls;
  CHECK(work > 0);
  if (count < 3) return body(env, 0, count);
  body(env, count - 1, count);
  body(env, 1, count - 1);
  body(env, 0, 1);
}

// One thread per chunk, up to four chunks of unequal size.
void threadPerChunk(sinter_parallel_body body, void* env, std::int64_t count, std::int64_t) {
  ++gCalls;
  std::vector<std::int64_t> cuts = {0};
  for (std::int64_t c : {count / 7, count / 2, count - 1}) cuts.push_back(std::clamp(c, cuts.back(), count));
  cuts.push_back(count);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
    if (cuts[i] < cuts[i + 1]) threads.emplace_back(body, env, cuts[i], cuts[i + 1]);
  for (std::thread& t : threads) t.join();
}

// A scratch hook whose buffers are full of NaN on every call: a kernel that read its scratch before
// writing it would turn the results into NaN.
std::atomic<int> gScratchCalls{0};
void* nanScratch(std::int32_t slot, std::int64_t bytes) {
  ++gScratchCalls;
  thread_local std::vector<std::vector<float>> slots(SINTER_SCRATCH_SLOTS);
  std::vector<float>& buf = slots.at(static_cast<std::size_t>(slot));
  buf.assign(static_cast<std::size_t>(bytes / 4 + 16), std::numeric_limits<float>::quiet_NaN());
  return buf.data();
}

// The forward pass's and the train step's results as the tests compare them, bit for bit.
struct Bits {
  std::vector<std::vector<double>> forward, step;
};

// The body the tests share. With no hook installed: the train step against the interpreter, then its bits
// (and the forward pass's, when `withForward`) as the reference. Under each chunk hook: the same bits, with
// at least `forwardCalls` hook calls in the forward pass and `calls` in the forward pass and step together
// (the loops did run in chunks). Returns the reference; no hook is left installed.
Bits checkSameBitsUnderHooks(const ir::Module& m, const sinter_model_desc* desc,
                             const std::map<std::string, ir::Tensor>& args, std::int64_t batch, bool withForward,
                             int forwardCalls, int calls) {
  *desc->parallel_for = nullptr;
  // The unsplit loops are right (against the interpreter) before they serve as the reference.
  test::compareWithInterpreter(m.trainStep, desc->train_step, args, {batch}, 1e-4, 1e-4);
  Bits unsplit;
  if (withForward) unsplit.forward = test::runEntry(desc->forward, m.forward, args, {batch});
  unsplit.step = test::runEntry(desc->train_step, m.trainStep, args, {batch});
  for (sinter_parallel_for_fn hook : {&reversedChunks, &threadPerChunk}) {
    gCalls = 0;
    *desc->parallel_for = hook;
    if (withForward) {
      CHECK(test::runEntry(desc->forward, m.forward, args, {batch}) == unsplit.forward);
      CHECK(gCalls >= forwardCalls);
    }
    CHECK(test::runEntry(desc->train_step, m.trainStep, args, {batch}) == unsplit.step);
    CHECK(gCalls >= calls);
  }
  *desc->parallel_for = nullptr;
  return unsplit;
}

}  // namespace

TEST_CASE("parallel kernel bodies give the same bits for any chunks, order and threads") {
  ir::Module m = test::makeModule(smallConvNet());
  for (const ir::Graph* g : {&m.forward, &m.trainStep}) {  // both convolutions with their epilogues
    int inRegisters = 0, perImage = 0;
    for (const ir::FusionGroup& k : codegen::planKernels(*g).kernels)
      if (k.kind == ir::KernelKind::ConvEpilogue) ++(codegen::convEpilogueInRegisters(*g, k) ? inRegisters : perImage);
    CHECK(inRegisters == 1);
    CHECK(perImage == 1);
  }
  auto jit = test::compileJit(m, {});
  const sinter_model_desc* desc = jit->descriptor();
  REQUIRE(desc->parallel_for != nullptr);
  REQUIRE(*desc->parallel_for == nullptr);  // no runtime installed: each entry point runs its loops itself

  for (std::int64_t batch : {1, 7, 13}) {
    INFO("batch " << batch);
    auto args = test::randomArgs(m.forward, batch, 40 + static_cast<std::uint64_t>(batch));
    // Forward: 2 convolutions, 2 poolings, 1 matmul; the train step adds their gradients.
    const Bits unsplit = checkSameBitsUnderHooks(m, desc, args, batch, true, 5, 2 * 5);
    const auto& forward = unsplit.forward;
    const auto& step = unsplit.step;
    // Scratch from a runtime hook (here: poisoned with NaN each time) instead of malloc: the same bits.
    REQUIRE(desc->scratch != nullptr);
    gScratchCalls = 0;
    *desc->scratch = nanScratch;
    CHECK(test::runEntry(desc->forward, m.forward, args, {batch}) == forward);
    CHECK(test::runEntry(desc->train_step, m.trainStep, args, {batch}) == step);
    CHECK(gScratchCalls > 0);
    *desc->scratch = nullptr;
  }
  *desc->parallel_for = nullptr;
}

// Elementwise kernels are parallel loops too: a chain with a broadcast operand (its outer axis split), a
// single op over a flat range (blocks of elements split) and their gradients. Every kernel of this net is
// elementwise or a loss, so the hook's calls count elementwise kernels only.
namespace {
ir::Graph elementwiseNet() {
  using test::batch;
  using test::d;
  using test::f32;
  ir::Graph g;
  g.name = "ElementwiseNet";
  auto x = g.addInput("x", f32({batch(), d(3), d(700)}));
  auto t = g.addInput("t", f32({batch(), d(3), d(700)}));
  auto b = g.addParam("b", f32({d(700)}), {});
  auto s = g.addParam("s", f32({d(3), d(700)}), {});
  auto h = g.addOp(Op::Relu, {g.addOp(Op::Add, {x, b})});
  auto e = g.addOp(Op::Tanh, {g.addOp(Op::Mul, {h, s})});
  auto u = g.addOp(Op::Sigmoid, {g.addOp(Op::Sub, {x, t})});  // no broadcast: one flat loop
  g.results = {
      {"e", e, ir::Result::Output}, {"u", u, ir::Result::Output}, {"loss", g.addOp(Op::Mse, {e, t}), ir::Result::Loss}};
  return g;
}
}  // namespace

TEST_CASE("elementwise kernels run in parallel chunks with the same bits") {
  const ir::Graph net = elementwiseNet();
  // The schedule: the broadcast chain splits its outer rows, a flat kernel its blocks of elements.
  ir::Module m = test::makeModule(net);
  const std::string nest = test::printSchedule(m.trainStep);
  CHECK(nest.find("outer elements") != std::string::npos);
  CHECK(nest.find("blocks of 1024 elements") != std::string::npos);
  auto jit = test::compileJit(m, {});
  const sinter_model_desc* desc = jit->descriptor();
  for (std::int64_t batch : {1, 5}) {
    INFO("batch " << batch);
    auto args = test::randomArgs(m.forward, batch, 90 + static_cast<std::uint64_t>(batch));
    // The forward pass, then the gradients' elementwise kernels.
    checkSameBitsUnderHooks(m, desc, args, batch, true, 1, 3);
  }
}

// conv2d_grad_weight by im2col splits its input channels when there are two or more (each chunk builds its
// channels' rows of the patches and writes those columns of dw) and its output channels otherwise. Both
// splits, under both hooks, against the interpreter and the unsplit bits.
TEST_CASE("the im2col weight gradient splits input channels or else output channels") {
  using test::batch;
  using test::d;
  using test::f32;
  for (std::int64_t channels : {1, 3}) {
    INFO("input channels " << channels);
    ir::Graph g;
    g.name = "WeightSplit";
    auto x = g.addInput("x", f32({batch(), d(channels), d(9), d(11)}));
    auto y = g.addInput("y", {ir::DType::I32, {batch()}});
    auto w = g.addParam("w", f32({d(7), d(channels), d(3), d(3)}), {});
    auto v = g.addParam("v", f32({d(7 * 5 * 6), d(10)}), {});
    ir::Attrs a = convAttrs();
    a.set("stride", std::vector<std::int64_t>{2, 2});  // stride 2: im2col, never the direct kernels
    auto h = g.addOp(Op::Relu, {g.addOp(Op::Conv2D, {x, w}, a)});
    auto logits = g.addOp(Op::MatMul, {g.addTyped(Op::Reshape, {h}, f32({batch(), d(7 * 5 * 6)})), v});
    g.results = {{"loss", g.addOp(Op::CrossEntropy, {logits, y}), ir::Result::Loss}};
    ir::Module m = test::makeModule(g);
    const std::string nest = test::printSchedule(m.trainStep);
    CHECK(nest.find(channels > 1 ? "// input channels" : "// output channels") != std::string::npos);
    auto jit = test::compileJit(m, {});
    const sinter_model_desc* desc = jit->descriptor();
    const std::int64_t n = 5;
    auto args = test::randomArgs(m.forward, n, 70 + static_cast<std::uint64_t>(channels));
    checkSameBitsUnderHooks(m, desc, args, n, false, 0, 1);
  }
}

// Reductions split their first kept axis over the threads (reduction_axes.h): a channel of a bias gradient,
// a row, a run of columns. Each output is summed whole by one chunk, in the same order, so every split gives
// the unsplit bits, and the unsplit loops match the interpreter.
TEST_CASE("reductions split their first kept axis with the same bits") {
  using test::batch;
  using test::d;
  using test::f32;
  using Ints = std::vector<std::int64_t>;
  auto axes = [](Ints a, std::int64_t keep) {
    ir::Attrs at;
    at.set("axes", std::move(a));
    at.set("keepdims", keep);
    return at;
  };
  ir::Graph g;
  g.name = "ReductionSplit";
  auto x = g.addInput("x", f32({batch(), d(3), d(4), d(5)}));
  auto t = g.addInput("t", f32({batch(), d(3), d(4), d(1)}));
  auto p = g.addParam("p", f32({d(3), d(4), d(5)}), {});  // its gradient sums x·dy over the batch: a sum_to
  auto h = g.addOp(Op::Mul, {x, p});
  auto channels = g.addOp(Op::ReduceSum, {h}, axes({0, 2, 3}, 0));  // kept: the 3 channels
  auto rows = g.addOp(Op::ReduceMean, {h}, axes({3}, 1));            // kept: batch, then 12 merged
  auto peaks = g.addOp(Op::ReduceMax, {h}, axes({1}, 0));            // kept: batch, and 20 merged
  g.results = {{"channels", channels, ir::Result::Output},
               {"peaks", peaks, ir::Result::Output},
               {"loss", g.addOp(Op::Mse, {rows, t}), ir::Result::Loss}};
  ir::Module m = test::makeModule(g);
  // The step: the mean's rows, p's gradient (its 60 weights); the forward pass: the channels, the maximum.
  const std::string step = test::printSchedule(m.trainStep), forward = test::printSchedule(m.forward);
  CHECK(step.find("outputs along kept axis 0 of [batch, 12, 5]") != std::string::npos);
  CHECK(step.find("outputs along kept axis 1 of [batch, 60]") != std::string::npos);
  CHECK(forward.find("outputs along kept axis 1 of [batch, 3, 20]") != std::string::npos);
  CHECK(forward.find("outputs along kept axis 0 of [batch, 3, 20]") != std::string::npos);
  auto jit = test::compileJit(m, {});
  const sinter_model_desc* desc = jit->descriptor();
  for (std::int64_t n : {1, 6}) {
    INFO("batch " << n);
    auto args = test::randomArgs(m.forward, n, 40 + static_cast<std::uint64_t>(n));
    const Bits unsplit = checkSameBitsUnderHooks(m, desc, args, n, true, 2, 4);
    // The forward outputs against the interpreter too (the step's are checked inside).
    test::compareWithInterpreter(m.forward, desc->forward, args, {n}, 1e-5, 1e-5);
    CHECK_FALSE(unsplit.forward.empty());
  }
}

// Streaming kernels (elementwise, pooling) tell the runtime 16 units of work an element or window tap
// (loop_schedule.cpp's kStreamWork), so that conv2's pool and its ReLU in the CNN (25,600 outputs at batch 64)
// pass the runtime's 2^17 and split over the threads. Their splits and bits are the other tests'.
namespace {
std::vector<std::pair<std::int64_t, std::int64_t>> gLoops;  // (count, work) of each hook call
void recordLoops(sinter_parallel_body body, void* env, std::int64_t count, std::int64_t work) {
  gLoops.emplace_back(count, work);
  body(env, 0, count);
}
}  // namespace

TEST_CASE("streaming kernels count 16 units of work an element") {
  using test::batch;
  using test::d;
  using test::f32;
  ir::Graph g;
  g.name = "StreamWork";
  auto x = g.addInput("x", f32({batch(), d(16), d(10), d(10)}));
  auto t = g.addInput("t", f32({batch(), d(16), d(5), d(5)}));
  auto s = g.addParam("s", f32({d(16), d(10), d(10)}), {});
  auto h = g.addOp(Op::MaxPool2D, {g.addOp(Op::Relu, {g.addOp(Op::Mul, {x, s})})}, window({2, 2}, {2, 2}, {0, 0}));
  g.results = {{"h", h, ir::Result::Output}, {"loss", g.addOp(Op::Mse, {h, t}), ir::Result::Loss}};
  ir::Module m = test::makeModule(g);
  auto jit = test::compileJit(m, {});
  const sinter_model_desc* desc = jit->descriptor();
  const std::int64_t n = 64, elements = n * 16 * 10 * 10;
  auto args = test::randomArgs(m.forward, n, 5);
  test::compareWithInterpreter(m.forward, desc->forward, args, {n}, 1e-5, 1e-5);
  gLoops.clear();
  *desc->parallel_for = &recordLoops;
  test::runEntry(desc->forward, m.forward, args, {n});
  *desc->parallel_for = nullptr;
  // mul (by a broadcast operand) + relu: 2 ops an element, its outer axis split; the pool: its planes, 4 taps
  // a window.
  using Loop = std::pair<std::int64_t, std::int64_t>;
  const Loop chain{n, elements * 2 * 16}, pool{n * 16, elements / 4 * 4 * 16};
  for (const Loop& l : gLoops) UNSCOPED_INFO("loop: count " << l.first << ", work " << l.second);
  CHECK(gLoops == std::vector<Loop>{chain, pool});
  for (const Loop& l : gLoops) CHECK(l.second >= std::int64_t{1} << 17);
}
