// Generated native code (JIT) against the f64 reference interpreter, and the descriptor's C layout.
#include <catch2/catch.hpp>
#include <cstddef>
#include <llvm/IR/DataLayout.h>
#include <llvm/IR/LLVMContext.h>

#include "compiler/autodiff/autodiff.h"
#include "compiler/codegen/codegen.h"
#include "compiler/codegen/emit_module.h"
#include "compiler/passes/dce.h"
#include "test_graphs.h"

using namespace sinter;

namespace {

ir::Module makeModule(ir::Graph g) {
  ir::Module m;
  m.name = g.name;
  m.forward = std::move(g);
  m.train = ir::TrainConfig{};
  m.trainStep = autodiff::buildTrainStep(m.forward, "loss");
  passes::eliminateDeadCode(m.trainStep);
  return m;
}

std::vector<float> toF32(const ir::Tensor& t) { return {t.data.begin(), t.data.end()}; }
std::vector<std::int32_t> toI32(const ir::Tensor& t) { return {t.data.begin(), t.data.end()}; }

// Runs `fn` on the graph's arguments and returns its results as doubles.
std::vector<std::vector<double>> run(sinter_entry_fn fn, const ir::Graph& g, const std::map<std::string, ir::Tensor>& args,
                                     std::int64_t batch) {
  std::vector<std::vector<float>> f;
  std::vector<std::vector<std::int32_t>> i;
  std::vector<void*> buffers;
  f.reserve(64);
  i.reserve(64);
  for (const auto* list : {&g.inputs, &g.params})
    for (ir::NodeId id : *list) {
      const ir::Node& n = g.node(id);
      if (n.type.dtype == ir::DType::I32) buffers.push_back(i.emplace_back(toI32(args.at(n.name))).data());
      else buffers.push_back(f.emplace_back(toF32(args.at(n.name))).data());
    }
  auto all = ir::interpretAll(g, args);
  std::vector<std::vector<float>> out;
  out.reserve(g.results.size());
  for (const ir::Result& r : g.results)
    buffers.push_back(out.emplace_back(all[static_cast<std::size_t>(r.node)].data.size(), -999.f).data());
  const std::int64_t syms[] = {batch};
  fn(buffers.data(), syms);
  std::vector<std::vector<double>> res;
  for (auto& o : out) res.emplace_back(o.begin(), o.end());
  return res;
}

void compareWithInterpreter(const ir::Graph& g, sinter_entry_fn fn, std::int64_t batch, std::uint64_t seed) {
  auto args = test::randomArgs(g, batch, seed);
  auto expect = ir::interpret(g, args);
  auto got = run(fn, g, args, batch);
  REQUIRE(got.size() == expect.size());
  for (std::size_t r = 0; r < got.size(); ++r) {
    INFO("result " << g.results[r].name);
    REQUIRE(got[r].size() == expect[r].data.size());
    for (std::size_t k = 0; k < got[r].size(); ++k) {
      INFO("element " << k);
      CHECK(got[r][k] == Approx(expect[r].data[k]).epsilon(1e-4).margin(1e-5));
    }
  }
}

}  // namespace

TEST_CASE("JIT-compiled MLP forward and train step match the interpreter") {
  ir::Module m = makeModule(test::mlpGraph(13, 17, 5));
  auto jit = codegen::JitModel::compile(m, {});
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
  auto jit = codegen::JitModel::compile(m, {});
  compareWithInterpreter(m.forward, jit->descriptor()->forward, 6, 5);
  compareWithInterpreter(m.trainStep, jit->descriptor()->train_step, 6, 6);
}

TEST_CASE("the descriptor describes the model") {
  ir::Module m = makeModule(test::mlpGraph());
  m.train->batch = 64;
  m.train->lr = 0.5;
  auto jit = codegen::JitModel::compile(m, {});
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
}

TEST_CASE("object files and assembly are emitted for the host") {
  ir::Module m = makeModule(test::mlpGraph());
  const std::string asmText = codegen::emitAssembly(m, {});
  CHECK_THAT(asmText, Catch::Contains("sinter_model_train_step:"));
  const std::string path = std::string(SINTER_BINARY_DIR) + "/test_codegen_mlp.o";
  codegen::emitObjectFile(m, {}, path);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f);
  unsigned char magic[4] = {};
  CHECK(std::fread(magic, 1, 4, f) == 4);
  std::fclose(f);
  CHECK((magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F'));
  CHECK_THROWS_WITH(codegen::emitObjectFile(m, {}, "/nonexistent-dir/x.o"), Catch::Contains("cannot write"));
  codegen::Options bad;
  bad.targetCpu = "not-a-cpu";
  CHECK_THROWS_WITH(codegen::emitAssembly(m, bad), Catch::Contains("unknown CPU 'not-a-cpu'"));
}
