#include "compiler/codegen/parallel_codegen.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Transforms/Utils/SplitModule.h>

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <thread>

#include "compiler/codegen/target.h"

namespace sinter::codegen {
namespace {

// Optimized and compiled on the calling thread, with a target machine of its own (one is not meant to
// serve two threads at once).
std::string compileOne(llvm::Module& mod, const Options& opts) {
  auto tm = createTargetMachine(opts);
  optimizeModule(mod, *tm, opts);
  return emitCode(mod, *tm, CodeFile::Object);
}

// SplitModule gives every local symbol external linkage and hidden visibility, so that a part can call a
// function another part defines. Their names (`.str`, a loop's body) would then clash between two models
// linked into one program: each takes the model's own prefix first.
void prefixLocalNames(llvm::Module& mod, const std::string& prefix) {
  auto rename = [&](llvm::GlobalValue& v) {
    if (!v.hasLocalLinkage()) return;
    v.setName(prefix + "." + (v.hasName() ? v.getName().str() : std::string("anon")));
  };
  for (llvm::Function& f : mod) rename(f);
  for (llvm::GlobalVariable& g : mod.globals()) rename(g);
  for (llvm::GlobalAlias& a : mod.aliases()) rename(a);
}

}  // namespace

unsigned codegenParts(const llvm::Module& mod, const Options& opts) {
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const unsigned wanted = opts.codegenThreads > 0 ? static_cast<unsigned>(opts.codegenThreads) : cores;
  const auto defined =
      std::count_if(mod.begin(), mod.end(), [](const llvm::Function& f) { return !f.isDeclaration(); });
  return std::clamp<unsigned>(wanted, 1, std::max<unsigned>(1, static_cast<unsigned>(defined)));
}

std::vector<std::string> compileObjects(std::unique_ptr<llvm::Module> mod, const Options& opts, unsigned parts,
                                        const std::string& symbolPrefix) {
  if (parts <= 1) return {compileOne(*mod, opts)};

  // Each part crosses to its thread as bitcode: an LLVMContext belongs to one thread at a time, and a part
  // SplitModule makes lives in the module's context. Round robin by size balances the parts' work.
  prefixLocalNames(*mod, symbolPrefix);
  std::vector<llvm::SmallVector<char, 0>> bitcode;
  llvm::SplitModule(
      *mod, parts,
      [&](std::unique_ptr<llvm::Module> part) {
        llvm::SmallVector<char, 0>& buf = bitcode.emplace_back();
        llvm::raw_svector_ostream os(buf);
        llvm::WriteBitcodeToFile(*part, os);
      },
      /*PreserveLocals=*/false, /*RoundRobin=*/true);
  mod.reset();

  std::vector<std::string> objects(bitcode.size());
  std::vector<std::exception_ptr> errors(bitcode.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < bitcode.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        llvm::LLVMContext ctx;
        const llvm::StringRef bytes(bitcode[i].data(), bitcode[i].size());
        auto part = llvm::parseBitcodeFile(llvm::MemoryBufferRef(bytes, "part"), ctx);
        if (!part) throw std::logic_error("cannot read back a part of the module: " + llvm::toString(part.takeError()));
        objects[i] = compileOne(**part, opts);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors)
    if (e) std::rethrow_exception(e);
  return objects;
}

}  // namespace sinter::codegen
