// A module compiled in parts on several threads (parallel_codegen.h) and kernels shared between entry points:
// the same results as one part, and objects that link into one program without clashing.
#include <llvm/IR/Instructions.h>
#include <llvm/Object/ObjectFile.h>
#include <llvm/Support/MemoryBuffer.h>
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "compiler/codegen/parallel_codegen.h"
#include "jit_harness.h"

using namespace sinter;

namespace {

driver::Options withThreads(int threads) {
  driver::Options d;
  d.codegen.codegenThreads = threads;
  d.passList = {"dce"};
  return d;
}

// The names each object defines with global binding (what another part or program can link against).
std::vector<std::set<std::string>> definedGlobals(const std::vector<std::string>& objects) {
  std::vector<std::set<std::string>> out;
  for (const std::string& bytes : objects) {
    auto obj = llvm::object::ObjectFile::createObjectFile(llvm::MemoryBufferRef(bytes, "part"));
    REQUIRE(static_cast<bool>(obj));
    std::set<std::string>& names = out.emplace_back();
    for (const llvm::object::SymbolRef& s : (*obj)->symbols()) {
      auto flags = s.getFlags();
      REQUIRE(static_cast<bool>(flags));
      if (!(*flags & llvm::object::SymbolRef::SF_Global) || (*flags & llvm::object::SymbolRef::SF_Undefined)) continue;
      auto name = s.getName();
      REQUIRE(static_cast<bool>(name));
      names.insert(name->str());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a model compiled in 1, 2 or 3 parts gives the same bits, and the interpreter's values") {
  ir::Module m = test::makeModule(test::mlpGraph(13, 17, 5));
  const auto args = test::randomArgs(m.trainStep, 9, 3);
  std::vector<std::vector<double>> forwardOne, trainOne;
  for (int threads : {1, 2, 3}) {
    INFO("threads " << threads);
    auto jit = driver::Compilation(m, withThreads(threads)).jit();
    const sinter_model_desc* desc = jit->descriptor();
    test::compareWithInterpreter(m.trainStep, desc->train_step, args, {9});
    auto forward = test::runEntry(desc->forward, m.forward, args, {9});
    auto train = test::runEntry(desc->train_step, m.trainStep, args, {9});
    if (threads == 1) {
      forwardOne = forward;
      trainOne = train;
      continue;
    }
    CHECK(forward == forwardOne);
    CHECK(train == trainOne);
  }
}

TEST_CASE("the parts define each global symbol once, every one under the model's descriptor name") {
  ir::Module m = test::makeModule(test::mlpGraph(13, 17, 5));
  driver::Options d = withThreads(2);
  d.codegen.descriptor = "Tiny_model";
  const std::vector<std::string> objects = driver::Compilation(m, d).objectCode(0);
  REQUIRE(objects.size() == 2);
  const auto globals = definedGlobals(objects);
  std::map<std::string, int> definitions;
  for (const auto& part : globals) {
    CHECK(!part.empty());  // round robin by size gives each part functions
    for (const std::string& name : part) {
      ++definitions[name];
      // A name without the prefix (`.str`, a kernel's body) would clash with another model's in one program.
      CHECK(name.rfind("Tiny_model", 0) == 0);
    }
  }
  for (const auto& [name, count] : definitions) {
    INFO(name);
    CHECK(count == 1);
  }
  CHECK(definitions.count("Tiny_model") == 1);
}

TEST_CASE("a module is cut into no more parts than it has functions") {
  llvm::LLVMContext ctx;
  llvm::Module mod("two", ctx);
  auto* fnTy = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), false);
  for (const char* name : {"a", "b"}) {
    auto* f = llvm::Function::Create(fnTy, llvm::Function::ExternalLinkage, name, mod);
    llvm::ReturnInst::Create(ctx, llvm::BasicBlock::Create(ctx, "entry", f));
  }
  llvm::Function::Create(fnTy, llvm::Function::ExternalLinkage, "declared_only", mod);
  codegen::Options o;
  o.codegenThreads = 8;
  CHECK(codegen::codegenParts(mod, o) == 2);
  o.codegenThreads = 1;
  CHECK(codegen::codegenParts(mod, o) == 1);
  o.codegenThreads = 0;  // one per core, at most 2 here
  CHECK(codegen::codegenParts(mod, o) >= 1);
  CHECK(codegen::codegenParts(mod, o) <= 2);
}

TEST_CASE("the train step calls the forward pass's kernel functions where its kernels are the same") {
  ir::Module m = test::makeModule(test::mlpGraph(13, 17, 5));
  driver::Compilation c(m, withThreads(1));
  driver::LlvmModule l = c.emitted();
  const std::string forward = "sinter_model_forward", train = "sinter_model_train_step";
  int shared = 0, kernels = 0;
  for (llvm::Function& f : *l.module) {
    std::set<std::string> callers;
    for (llvm::User* u : f.users())
      if (auto* call = llvm::dyn_cast<llvm::CallInst>(u)) callers.insert(call->getFunction()->getName().str());
    kernels += callers.count(forward) + callers.count(train) > 0;
    shared += callers.count(forward) && callers.count(train);
  }
  INFO(kernels << " kernel functions");
  CHECK(shared > 0);
  // Each shared kernel is a function fewer than two copies would make: the results are checked above.
  CHECK(shared < kernels);
}
