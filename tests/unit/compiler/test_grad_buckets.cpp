// Gradient buckets (compiler/codegen/grad_buckets.h): the assignment follows the train step's kernel
// schedule (last layer first, each bucket ready after the kernel that finishes its last gradient), and the
// generated train step calls the bucket hook there, mid-step, once per bucket, in order.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "compiler/codegen/grad_buckets.h"
#include "jit_harness.h"

using namespace sinter;

namespace {

// x[batch,8] -> 16 -> 12 -> 4 classes: three layers whose gradients come out in reverse (w3, b3 first).
ir::Graph threeLayers() {
  using test::batch;
  using test::d;
  using test::f32;
  ir::Graph g;
  g.name = "ThreeLayers";
  auto x = g.addInput("x", f32({batch(), d(8)}));
  auto y = g.addInput("y", {ir::DType::I32, {batch()}});
  ir::NodeId h = x;
  const std::int64_t widths[] = {8, 16, 12, 4};
  for (int l = 1; l <= 3; ++l) {
    auto w = g.addParam("w" + std::to_string(l), f32({d(widths[l - 1]), d(widths[l])}), {});
    auto b = g.addParam("b" + std::to_string(l), f32({d(widths[l])}), {});
    h = g.addOp(ir::Op::Add, {g.addOp(ir::Op::MatMul, {h, w}), b});
    if (l < 3) h = g.addOp(ir::Op::Tanh, {h});
  }
  auto loss = g.addOp(ir::Op::CrossEntropy, {h, y});
  g.results = {{"logits", h, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  return g;
}

driver::Options dceOnly() {
  driver::Options d;
  d.passList = {"dce"};
  return d;
}

// Per gradient (trained param order): the kernel that computes its result, found independently of
// planGradBuckets (no gradient of this graph is a copy).
std::vector<std::size_t> producingKernels(const ir::Graph& g, const codegen::KernelProgram& p) {
  std::vector<std::size_t> out;
  for (const ir::Result& r : g.results) {
    if (r.kind != ir::Result::Grad) continue;
    std::size_t at = p.kernels.size();
    for (std::size_t k = 0; k < p.kernels.size(); ++k)
      for (ir::NodeId id : p.kernels[k].nodes)
        if (id == r.node) at = k;
    REQUIRE(at < p.kernels.size());
    out.push_back(at);
  }
  return out;
}

std::string paramName(const ir::Graph& g, int grad) { return g.node(g.trainedParams()[static_cast<std::size_t>(grad)]).name; }

}  // namespace

TEST_CASE("gradient buckets follow the train step's kernel schedule, last layer first") {
  driver::Compilation c(test::makeModule(threeLayers()), dceOnly());
  const ir::Graph& g = c.subject();
  const codegen::KernelProgram p = c.kernelProgram();
  const std::vector<std::size_t> kernelOf = producingKernels(g, p);
  REQUIRE(kernelOf.size() == 6);
  // Gradient bytes: w1 512, b1 64, w2 768, b2 48, w3 192, b3 16.
  for (std::int64_t target : {1, 100, 300, 600, 1000, 1 << 20}) {
    INFO("target " << target);
    const codegen::GradBuckets b = codegen::planGradBuckets(g, p, target);
    REQUIRE(b.bucketOf.size() == 6);
    std::vector<int> order;  // the gradients, bucket after bucket
    for (std::size_t k = 0; k < b.buckets.size(); ++k) {
      const codegen::GradBucket& bucket = b.buckets[k];
      REQUIRE(!bucket.grads.empty());
      std::size_t last = 0;
      std::int64_t bytes = 0;
      for (int i : bucket.grads) {
        CHECK(b.bucketOf[static_cast<std::size_t>(i)] == static_cast<int>(k));
        last = std::max(last, kernelOf[static_cast<std::size_t>(i)]);
        bytes += i % 2 == 0 ? std::array<std::int64_t, 3>{512, 768, 192}[static_cast<std::size_t>(i / 2)]
                            : std::array<std::int64_t, 3>{64, 48, 16}[static_cast<std::size_t>(i / 2)];
        order.push_back(i);
      }
      CHECK(bucket.readyAfter == last);  // ready right after the kernel that finishes its last gradient
      CHECK(bucket.bytes == bytes);
      const bool oneKernel = std::all_of(bucket.grads.begin(), bucket.grads.end(), [&](int i) {
        return kernelOf[static_cast<std::size_t>(i)] == kernelOf[static_cast<std::size_t>(bucket.grads[0])];
      });
      CHECK((bucket.bytes <= target || oneKernel));  // larger only for the gradients of one kernel
      if (k > 0) CHECK(b.buckets[k - 1].readyAfter <= bucket.readyAfter);
    }
    REQUIRE(order.size() == 6);
    for (std::size_t i = 1; i < order.size(); ++i)  // in the order the kernels produce them
      CHECK(kernelOf[static_cast<std::size_t>(order[i - 1])] <= kernelOf[static_cast<std::size_t>(order[i])]);
    // Last layer first: the first bucket starts with the output layer's gradients, the first layer's come last.
    CHECK((paramName(g, order.front()) == "w3" || paramName(g, order.front()) == "b3"));
    CHECK((paramName(g, order.back()) == "w1" || paramName(g, order.back()) == "b1"));
  }
  // One bucket per kernel that finishes gradients at the smallest target.
  std::vector<std::size_t> kernels = kernelOf;
  std::sort(kernels.begin(), kernels.end());
  kernels.erase(std::unique(kernels.begin(), kernels.end()), kernels.end());
  CHECK(codegen::planGradBuckets(g, p, 1).buckets.size() == kernels.size());
  const codegen::GradBuckets one = codegen::planGradBuckets(g, p, 1 << 20);
  REQUIRE(one.buckets.size() == 1);
  CHECK(one.buckets[0].readyAfter == *std::max_element(kernelOf.begin(), kernelOf.end()));
  const std::string line = codegen::describeBucket(g, one, 0);
  CHECK(line.find("bucket 0 ready: ") == 0);
  CHECK(line.find("(1600 bytes) -> all-reduce starts") != std::string::npos);
  CHECK_THROWS_AS(codegen::planGradBuckets(g, p, 0), std::invalid_argument);
  CHECK_THROWS_AS(codegen::planGradBuckets(g, p, -5), std::invalid_argument);
  // A graph without a loss has no gradients, so no buckets.
  ir::Module inference;
  inference.name = "Inference";
  inference.forward = threeLayers();
  inference.forward.results.pop_back();
  driver::Compilation forward(std::move(inference), dceOnly());
  CHECK(codegen::planGradBuckets(forward.subject(), forward.kernelProgram(), 1000).buckets.empty());
}

namespace {

// What the bucket hook saw: the buckets in call order, and every gradient's values at each call.
struct Recorder {
  std::vector<float*> grads;
  std::vector<std::size_t> sizes;
  std::vector<int> calls;
  std::vector<std::vector<std::vector<float>>> seen;  // per call, per gradient
};

void record(void* ctx, std::int32_t bucket) {
  auto* r = static_cast<Recorder*>(ctx);
  r->calls.push_back(bucket);
  auto& now = r->seen.emplace_back();
  for (std::size_t i = 0; i < r->grads.size(); ++i) now.emplace_back(r->grads[i], r->grads[i] + r->sizes[i]);
}

std::size_t elements(const ir::TensorType& t, std::int64_t batch) {
  std::size_t n = 1;
  for (const ir::Dim& dim : t.shape) n *= static_cast<std::size_t>(dim.isSymbolic() ? batch : dim.size);
  return n;
}

}  // namespace

// The runtime sums a bucket in place while the step goes on, so a kernel that still reads a gradient after
// the one that computes it must run before the bucket is ready.
TEST_CASE("a gradient read by a later kernel holds its bucket back until that kernel") {
  driver::Compilation c(test::makeModule(threeLayers()), dceOnly());
  ir::Graph g = c.subject();
  codegen::KernelProgram p = c.kernelProgram();
  const std::vector<std::size_t> kernelOf = producingKernels(g, p);
  std::vector<ir::NodeId> gradNodes;
  for (const ir::Result& r : g.results)
    if (r.kind == ir::Result::Grad) gradNodes.push_back(r.node);
  REQUIRE(gradNodes.size() == 6);
  REQUIRE(paramName(g, 4) == "w3");
  // A reader of w3's gradient, in a kernel of its own after every other.
  const ir::NodeId reader = g.addOp(ir::Op::Neg, {gradNodes[4]});
  g.results.push_back({"reader", reader, ir::Result::Output});
  ir::FusionGroup last;
  last.nodes = {reader};
  p.kernels.push_back(last);
  const std::size_t readerKernel = p.kernels.size() - 1;
  REQUIRE(kernelOf[4] < readerKernel);
  const codegen::GradBuckets b = codegen::planGradBuckets(g, p, 1);
  CHECK(b.buckets[static_cast<std::size_t>(b.bucketOf[4])].readyAfter == readerKernel);
  for (int i : {0, 1, 2, 3, 5}) {  // the others: right after the kernel that computes them
    INFO(paramName(g, i));
    CHECK(b.buckets[static_cast<std::size_t>(b.bucketOf[static_cast<std::size_t>(i)])].readyAfter ==
          kernelOf[static_cast<std::size_t>(i)]);
  }
}

TEST_CASE("the generated train step calls the bucket hook after the kernel that completes each bucket") {
  const ir::Module m = test::makeModule(threeLayers());
  codegen::Options o;
  o.gradBucketBytes = 600;
  auto jit = test::compileJit(m, o);
  const sinter_model_desc* desc = jit->descriptor();
  driver::Options d = dceOnly();
  d.codegen = o;
  driver::Compilation c(m, d);
  const codegen::GradBuckets plan = codegen::planGradBuckets(c.subject(), c.kernelProgram(), o.gradBucketBytes);
  REQUIRE(plan.buckets.size() >= 2);
  REQUIRE(desc->num_grad_buckets == static_cast<std::int32_t>(plan.buckets.size()));
  for (std::size_t i = 0; i < plan.bucketOf.size(); ++i) CHECK(desc->grad_bucket[i] == plan.bucketOf[i]);
  REQUIRE(desc->bucket_hook != nullptr);
  REQUIRE(desc->bucket_hook->ready == nullptr);  // no runtime installed one

  // The train step's buffers: inputs, params, then results (loss, gradients) poisoned with NaN.
  const std::int64_t batch = 5;
  const ir::Graph& g = m.trainStep;
  auto args = test::randomArgs(m.forward, batch, 7);
  std::vector<std::vector<float>> f32s;
  std::vector<std::int32_t> labels;
  std::vector<void*> buffers;
  f32s.reserve(64);
  for (const auto* list : {&g.inputs, &g.params})
    for (ir::NodeId id : *list) {
      const ir::Tensor& t = args.at(g.node(id).name);
      if (g.node(id).type.dtype == ir::DType::I32) {
        labels.assign(t.data.begin(), t.data.end());
        buffers.push_back(labels.data());
      } else {
        buffers.push_back(f32s.emplace_back(t.data.begin(), t.data.end()).data());
      }
    }
  Recorder rec;
  for (const ir::Result& r : g.results) {
    const std::size_t n = elements(g.node(r.node).type, batch);
    buffers.push_back(f32s.emplace_back(n, std::numeric_limits<float>::quiet_NaN()).data());
    if (r.kind == ir::Result::Grad) {
      rec.grads.push_back(static_cast<float*>(buffers.back()));
      rec.sizes.push_back(n);
    }
  }
  REQUIRE(rec.grads.size() == 6);
  const std::vector<std::int64_t> syms = {batch, 0};
  *desc->bucket_hook = {&record, &rec};
  desc->train_step(buffers.data(), syms.data());
  *desc->bucket_hook = {nullptr, nullptr};

  std::vector<int> expected(plan.buckets.size());
  for (std::size_t k = 0; k < expected.size(); ++k) expected[k] = static_cast<int>(k);
  CHECK(rec.calls == expected);  // each bucket once, in the order the step completes them
  for (std::size_t call = 0; call < rec.calls.size(); ++call)
    for (std::size_t i = 0; i < rec.grads.size(); ++i) {
      const int bucket = plan.bucketOf[i];
      const std::vector<float>& then = rec.seen[call][i];
      const std::vector<float> final(rec.grads[i], rec.grads[i] + rec.sizes[i]);
      INFO("call " << call << ", gradient " << i << " of bucket " << bucket);
      if (bucket <= static_cast<int>(call)) {
        CHECK(std::memcmp(then.data(), final.data(), then.size() * sizeof(float)) == 0);  // final when announced
      }
      if (bucket == static_cast<int>(plan.buckets.size()) - 1 && call == 0) {
        CHECK(std::isnan(then[0]));  // the first bucket is announced before the last one is computed: mid-step
      }
      for (float v : final) CHECK(std::isfinite(v));
    }
}
