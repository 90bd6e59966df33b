// In-process compilation with ORC's LLJIT: the module `sinter build` would write as an object file, linked into this
// process instead.
#include <fmt/format.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <stdexcept>

#include "compiler/codegen/jit.h"

namespace sinter::codegen {
namespace {

std::string message(llvm::Error e) { return llvm::toString(std::move(e)); }

class OrcModel final : public JitModel {
 public:
  OrcModel(std::unique_ptr<llvm::orc::LLJIT> jit, const sinter_model_desc* desc) : jit_(std::move(jit)), desc_(desc) {}
  const sinter_model_desc* descriptor() const override { return desc_; }

 private:
  std::unique_ptr<llvm::orc::LLJIT> jit_;
  const sinter_model_desc* desc_;
};

}  // namespace

std::unique_ptr<JitModel> loadJit(std::unique_ptr<llvm::Module> mod, std::unique_ptr<llvm::LLVMContext> ctx,
                                  const llvm::TargetMachine& tm, const std::string& descriptor) {
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) throw std::runtime_error("JIT: " + message(jtmb.takeError()));
  jtmb->setCPU(tm.getTargetCPU().str());
  // The same instruction selection as `sinter build` at this -O: the builder's default (O2) spends a minute
  // on an unrolled LSTM even at -O0.
  jtmb->setCodeGenOptLevel(tm.getOptLevel());
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
  if (!jit) throw std::runtime_error("JIT: " + message(jit.takeError()));
  // Generated code calls malloc, free, expf and logf: resolve them in this process.
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
  if (!gen) throw std::runtime_error("JIT: " + message(gen.takeError()));
  (*jit)->getMainJITDylib().addGenerator(std::move(*gen));
  mod->setDataLayout((*jit)->getDataLayout());
  if (auto e = (*jit)->addIRModule(llvm::orc::ThreadSafeModule(std::move(mod), std::move(ctx))))
    throw std::runtime_error("JIT: " + message(std::move(e)));
  auto sym = (*jit)->lookup(descriptor);
  if (!sym) throw std::runtime_error("JIT: " + message(sym.takeError()));
  auto* desc = sym->toPtr<const sinter_model_desc*>();
  return std::make_unique<OrcModel>(std::move(*jit), desc);
}

}  // namespace sinter::codegen
