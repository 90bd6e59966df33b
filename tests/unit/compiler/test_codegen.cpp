// Generated native code (JIT) against the f64 reference interpreter, and the descriptor's C layout.
#include <llvm/IR/DataLayout.h>
#include <llvm/IR/LLVMContext.h>
#include <catch2/catch.hpp>
#include <cstddef>

#include <sstream>

#include "compiler/codegen/emit_module.h"
#include "compiler/codegen/kernel_plan.h"
#include "compiler/codegen/loop_ir.h"
#include "jit_harness.h"

using namespace sinter;

namespace {

using test::makeModule;

void compareWithInterpreter(const ir::Graph& g, sinter_entry_fn fn, std::int64_t batch, std::uint64_t seed) {
  test::compareWithInterpreter(g, fn, test::randomArgs(g, batch, seed), {batch});
}

}  // namespace

TEST_CASE("JIT-compiled MLP forward and train step match the interpreter") {
  ir::Module m = makeModule(test::mlpGraph(13, 17, 5));
  auto jit = test::compileJit(m, {});
  const sinter_model_desc* desc = jit->descriptor();
  REQUIRE(desc->abi_version == SINTER_ABI_VERSION);
  for (std::int64_t batch : {1, 3, 8, 33}) {
    INFO("batch " << batch);
    compareWithInterpreter(m.forward, desc->forward, batch, 10 + static_cast<std::uint64_t>(batch));
    compareWithInterpreter(m.trainStep, desc->train_step, batch, 20 + static_cast<std::uint64_t>(batch));
  }
}

TEST_CASE("JIT-compiled mul, broadcast, softmax_grad and sum_to match the interpreter") {
  ir::Module m = makeModule(test::mixedGraph());
  auto jit = test::compileJit(m, {});
  compareWithInterpreter(m.forward, jit->descriptor()->forward, 6, 5);
  compareWithInterpreter(m.trainStep, jit->descriptor()->train_step, 6, 6);
}

TEST_CASE("the descriptor describes the model") {
  ir::Module m = makeModule(test::mlpGraph());
  m.train->batch = 64;
  m.train->lr = 0.5;
  auto jit = test::compileJit(m, {});
  const sinter_model_desc& d = *jit->descriptor();
  CHECK(std::string(d.name) == "MLP");
  REQUIRE(d.num_syms == 1);
  CHECK(std::string(d.sym_names[0]) == "batch");
  REQUIRE(d.num_inputs == 2);
  CHECK(std::string(d.inputs[0].name) == "x");
  CHECK(d.inputs[0].rank == 2);
  CHECK(d.inputs[0].dims[0] == -1);  // symbol 0
  CHECK(d.inputs[0].dims[1] == 6);
  CHECK(d.inputs[1].dtype == SINTER_I32);
  REQUIRE(d.num_params == 4);
  CHECK(std::string(d.params[2].name) == "w2");
  CHECK(d.params[2].init == SINTER_INIT_NORMAL);
  CHECK(d.params[2].init_b == Approx(0.1));
  REQUIRE(d.num_outputs == 2);
  CHECK(d.loss_output == 1);
  CHECK(d.outputs[1].rank == 0);
  CHECK(d.has_train == 1);
  CHECK(d.train.optimizer == SINTER_OPT_ADAM);
  CHECK(d.train.batch == 64);
  CHECK(d.train.lr == 0.5f);
  CHECK(d.train.metrics == 0);  // no `metrics` setting: the driver chooses the task's
}

TEST_CASE("the descriptor carries the train block's metrics") {
  ir::Module m = makeModule(test::mlpGraph());
  m.train->metrics = ir::TrainConfig::MetricLoss;
  auto jit = test::compileJit(m, {});
  CHECK(jit->descriptor()->train.metrics == SINTER_METRIC_LOSS);
  m.train->metrics = ir::TrainConfig::MetricLoss | ir::TrainConfig::MetricR2 | ir::TrainConfig::MetricTopK;
  jit = test::compileJit(m, {});
  CHECK(jit->descriptor()->train.metrics == (SINTER_METRIC_LOSS | SINTER_METRIC_R2 | SINTER_METRIC_TOP_K));
}

TEST_CASE("the descriptor carries the param groups and the new schedules' settings") {
  ir::Module m = makeModule(test::mlpGraph());
  auto jit = test::compileJit(m, {});
  CHECK(jit->descriptor()->num_param_groups == 0);
  CHECK(jit->descriptor()->param_group == nullptr);
  m.train->schedule = ir::TrainConfig::OneCycle;
  m.train->pctStart = 0.25;
  m.train->totalIters = 9;
  ir::TrainConfig::Group g{"no_decay", {"b1", "b2"}, *m.train};
  g.config.weightDecay = 0;
  g.config.lr = 0.5;
  m.train->weightDecay = 0.25;
  m.train->groups.push_back(g);
  jit = test::compileJit(m, {});
  const sinter_model_desc& d = *jit->descriptor();
  CHECK(d.train.schedule == SINTER_SCHED_ONE_CYCLE);
  CHECK(d.train.pct_start == 0.25f);
  CHECK(d.train.total_iters == 9);
  REQUIRE(d.num_param_groups == 1);
  CHECK(std::string(d.param_groups[0].name) == "no_decay");
  CHECK(d.param_groups[0].config.weight_decay == 0.0f);
  CHECK(d.param_groups[0].config.lr == 0.5f);
  CHECK(d.param_groups[0].config.pct_start == 0.25f);
  CHECK(d.train.weight_decay == 0.25f);
  // w1, b1, w2, b2: the biases are in group 0.
  CHECK(std::vector<int32_t>(d.param_group, d.param_group + 4) == std::vector<int32_t>{-1, 0, -1, 0});
}

TEST_CASE("LLVM's layout of the descriptor equals the C header's") {
  llvm::LLVMContext ctx;
  llvm::DataLayout dl("e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-i128:128-f80:128-n8:16:32:64-S128");
  const llvm::StructLayout* sl = dl.getStructLayout(codegen::modelDescType(ctx));
  CHECK(sl->getSizeInBytes() == sizeof(sinter_model_desc));
  CHECK(sl->getElementOffset(2) == offsetof(sinter_model_desc, name));
  CHECK(sl->getElementOffset(8) == offsetof(sinter_model_desc, inputs));
  CHECK(sl->getElementOffset(11) == offsetof(sinter_model_desc, forward));
  CHECK(sl->getElementOffset(13) == offsetof(sinter_model_desc, has_train));
  CHECK(sl->getElementOffset(15) == offsetof(sinter_model_desc, train));
  // The train config on its own: its size, the first and last fields appended in ABI 2, ABI 3's metrics.
  auto* trainTy = llvm::cast<llvm::StructType>(codegen::modelDescType(ctx)->getElementType(15));
  const llvm::StructLayout* tl = dl.getStructLayout(trainTy);
  CHECK(tl->getSizeInBytes() == sizeof(sinter_train_config));
  CHECK(tl->getElementOffset(10) == offsetof(sinter_train_config, seed));
  CHECK(tl->getElementOffset(11) == offsetof(sinter_train_config, amsgrad));
  CHECK(tl->getElementOffset(17) == offsetof(sinter_train_config, clip_norm));
  CHECK(tl->getElementOffset(22) == offsetof(sinter_train_config, warmup_steps));
  CHECK(tl->getElementOffset(23) == offsetof(sinter_train_config, metrics));
  CHECK(tl->getElementOffset(24) == offsetof(sinter_train_config, sched_per_epoch));
  CHECK(tl->getElementOffset(30) == offsetof(sinter_train_config, total_iters));
  CHECK(sl->getElementOffset(18) == offsetof(sinter_model_desc, num_param_groups));
  CHECK(sl->getElementOffset(19) == offsetof(sinter_model_desc, param_groups));
  CHECK(sl->getElementOffset(20) == offsetof(sinter_model_desc, param_group));
}

TEST_CASE("object files and assembly are emitted for the host") {
  driver::Compilation c(makeModule(test::mlpGraph()));
  const std::string asmText = c.assembly();
  CHECK_THAT(asmText, Catch::Contains("sinter_model_train_step:"));
  const std::string path = std::string(SINTER_BINARY_DIR) + "/test_codegen_mlp.o";
  c.writeObject(path);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f);
  unsigned char magic[4] = {};
  CHECK(std::fread(magic, 1, 4, f) == 4);
  std::fclose(f);
  CHECK((magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F'));
  CHECK_THROWS_WITH(c.writeObject("/nonexistent-dir/x.o"), Catch::Contains("cannot write"));
  driver::Options bad;
  bad.codegen.targetCpu = "not-a-cpu";
  CHECK_THROWS_WITH(driver::Compilation(makeModule(test::mlpGraph()), bad).assembly(),
                    Catch::Contains("unknown CPU 'not-a-cpu'"));
}

TEST_CASE("f64 graphs compile and match the interpreter to f64 precision") {
  ir::Graph g;
  g.name = "F64";
  const auto f64 = [](ir::Shape s) { return ir::TensorType{ir::DType::F64, std::move(s)}; };
  auto x = g.addInput("x", f64({test::batch(), test::d(5)}));
  auto y = g.addInput("y", {ir::DType::I32, {test::batch()}});
  auto w = g.addParam("w", f64({test::d(5), test::d(4)}), {});
  auto b = g.addParam("b", f64({test::d(4)}), {});
  auto logits = g.addOp(ir::Op::Add, {g.addOp(ir::Op::MatMul, {g.addOp(ir::Op::Tanh, {x}), w}), b});
  auto loss = g.addOp(ir::Op::CrossEntropy, {logits, y});
  g.results = {{"logits", logits, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  ir::Module m = makeModule(g);
  auto jit = test::compileJit(m, {});
  auto args = test::randomArgs(m.forward, 6, 3);
  test::compareWithInterpreter(m.forward, jit->descriptor()->forward, args, {6}, 1e-12, 1e-13);
  test::compareWithInterpreter(m.trainStep, jit->descriptor()->train_step, args, {6}, 1e-12, 1e-13);
}

// Two products, a [batch, k] · w [k, n] and tanh of it · v [n, n], under a cross-entropy loss: the train
// step adds matmul_tn and matmul_nt of the same sizes.
namespace {
ir::Module productsModule(int k, int n) {
  ir::Graph g;
  g.name = "Gemm";
  auto a = g.addInput("a", test::f32({test::batch(), test::d(k)}));
  auto y = g.addInput("y", {ir::DType::I32, {test::batch()}});
  auto w = g.addParam("w", test::f32({test::d(k), test::d(n)}), {});
  auto v = g.addParam("v", test::f32({test::d(n), test::d(n)}), {});
  auto h = g.addOp(ir::Op::Tanh, {g.addOp(ir::Op::MatMul, {a, w})});
  auto logits = g.addOp(ir::Op::MatMul, {h, v});
  auto loss = g.addOp(ir::Op::CrossEntropy, {logits, y});
  g.results = {{"logits", logits, ir::Result::Output}, {"loss", loss, ir::Result::Loss}};
  return makeModule(g);
}
}  // namespace

TEST_CASE("matrix products with whole register tiles and ragged edges match the interpreter") {
  // 70 columns = two 32-wide AVX-512 tiles (or four 16-wide AVX2 ones) and a ragged edge; 37 rows = six
  // 6-row tiles and one left over. The backward pass adds matmul_tn and matmul_nt of the same sizes.
  // 1 x 300 x 530 and 13 x 300 x 530 cross the cache blocks: two K blocks (the second partial) and two N
  // blocks of the packed panel, with a single row and a partial row tile.
  for (auto [m, k, n] : {std::tuple{37, 45, 70}, std::tuple{64, 96, 128}, std::tuple{6, 1, 32}, std::tuple{5, 7, 3},
                         std::tuple{1, 300, 530}, std::tuple{13, 300, 530}}) {
    INFO(m << "x" << k << "x" << n);
    ir::Module mod = productsModule(k, n);
    auto jit = test::compileJit(mod, {});
    auto args = test::randomArgs(mod.forward, m, 17);
    test::compareWithInterpreter(mod.forward, jit->descriptor()->forward, args, {m}, 1e-4, 1e-4);
    test::compareWithInterpreter(mod.trainStep, jit->descriptor()->train_step, args, {m}, 1e-4, 1e-4);
  }
}

// The packed products on 8 lanes (AVX2), where a strip of the panel is two 8-wide vectors, and split over two
// threads: 13 x 300 x 530 packs B in two K blocks (the second partial) and two N blocks (the second ragged),
// and its train step packs the transposed and in-place operands of matmul_tn and matmul_nt the same way.
TEST_CASE("packed matrix products on 8 lanes and two threads match the interpreter") {
  for (auto [m, k, n] : {std::tuple{13, 300, 530}, std::tuple{37, 45, 70}}) {
    INFO(m << "x" << k << "x" << n);
    ir::Module mod = productsModule(k, n);
    codegen::Options options;
    options.targetCpu = "haswell";
    auto jit = test::compileJit(mod, options);
    auto args = test::randomArgs(mod.forward, m, 23);
    for (bool two : {false, true}) {
      INFO("two threads " << two);
      *jit->descriptor()->parallel_for = two ? test::twoThreads : nullptr;
      test::compareWithInterpreter(mod.forward, jit->descriptor()->forward, args, {m}, 1e-4, 1e-4);
      test::compareWithInterpreter(mod.trainStep, jit->descriptor()->train_step, args, {m}, 1e-4, 1e-4);
    }
  }
}

// A bias added to a product is no epilogue pass: each register tile starts from the bias row (the printed
// product says "(a row)"), also across K blocks (K = 300: the second block starts from C) and for a batched
// product. A batched product's other epilogues run after each batch's product (the nest indexes them by
// the batch variable, with no loop of their own over the batches). Forward and train step against the
// interpreter, with ragged tiles.
TEST_CASE("a bias starts the product's tiles and a batched product's epilogue runs per batch") {
  for (auto [m, k, n] : {std::tuple{37, 45, 70}, std::tuple{5, 7, 3}, std::tuple{1, 300, 530}, std::tuple{13, 300, 530}}) {
    INFO(m << "x" << k << "x" << n);
    ir::Graph g;
    g.name = "Bias";
    auto a = g.addInput("a", test::f32({test::batch(), test::d(k)}));
    auto s = g.addInput("s", test::f32({test::d(3), test::batch(), test::d(k)}));
    auto w = g.addParam("w", test::f32({test::d(k), test::d(n)}), {});
    auto b = g.addParam("b", test::f32({test::d(n)}), {});
    auto c = g.addParam("c", test::f32({test::d(n)}), {});
    auto plain = g.addOp(ir::Op::Add, {g.addOp(ir::Op::MatMul, {a, w}), b});
    auto batched = g.addOp(ir::Op::Add, {c, g.addOp(ir::Op::MatMul, {s, w})});
    auto activated = g.addOp(ir::Op::Tanh, {g.addOp(ir::Op::Add, {g.addOp(ir::Op::MatMul, {s, w}), b})});
    ir::Attrs all;
    all.set("axes", std::vector<std::int64_t>{0, 1, 2});
    all.set("keepdims", std::int64_t{0});
    auto loss = g.addOp(ir::Op::ReduceSum, {g.addOp(ir::Op::Mul, {activated, activated})}, all);
    g.results = {{"plain", plain, ir::Result::Output},
                 {"batched", batched, ir::Result::Output},
                 {"activated", activated, ir::Result::Output},
                 {"loss", loss, ir::Result::Loss}};
    ir::Module mod = makeModule(g);
    std::string nest;
    for (const ir::FusionGroup& kernel : codegen::planKernels(mod.forward).kernels)
      nest += codegen::loop::print(mod.forward, codegen::scheduleKernel(mod.forward, kernel, {}), 0);
    INFO(nest);
    // Micro-kernel lines that start from a bias row, and those of them over a batch.
    int rowStarts = 0, batchedRowStarts = 0;
    std::istringstream lines(nest);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("microkernel") == std::string::npos || line.find(" (a row) + ") == std::string::npos) continue;
      ++rowStarts;
      batchedRowStarts += line.find("[b0*batch*") != std::string::npos;
    }
    CHECK(rowStarts >= 2);
    CHECK(batchedRowStarts >= 1);
    CHECK(nest.find("= tanh(add(%") != std::string::npos);
    CHECK(nest.find("for e0 in [0, 3)") == std::string::npos);  // no pass over every batch after the products
    auto jit = test::compileJit(mod, {});
    for (std::int64_t batch : {1, 8}) {
      auto args = test::randomArgs(mod.forward, batch, 31 + static_cast<std::uint64_t>(batch));
      test::compareWithInterpreter(mod.forward, jit->descriptor()->forward, args, {batch}, 1e-4, 1e-4);
      test::compareWithInterpreter(mod.trainStep, jit->descriptor()->train_step, args, {batch}, 1e-4, 1e-4);
    }
  }
}
