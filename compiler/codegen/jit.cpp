// In-process compilation with ORC's LLJIT: the same module as an object file, linked into this process.
#include <fmt/format.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <stdexcept>

#include "compiler/codegen/emit_module.h"
#include "compiler/codegen/target.h"

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

std::unique_ptr<JitModel> JitModel::compile(const ir::Module& m, const Options& opts) {
  if (!opts.targetTriple.empty()) throw std::runtime_error("the JIT runs on the host: --target-triple does not apply");
  std::unique_ptr<llvm::TargetMachine> tm = createTargetMachine(opts);
  auto ctx = std::make_unique<llvm::LLVMContext>();
  std::unique_ptr<llvm::Module> mod = emitModule(m, opts, *tm, *ctx);
  optimizeModule(*mod, *tm, opts);

  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) throw std::runtime_error("JIT: " + message(jtmb.takeError()));
  jtmb->setCPU(tm->getTargetCPU().str());
  // The same instruction selection as `sinter build` at this -O: the builder's default (O2) spends a minute
  // on an unrolled LSTM even at -O0.
  jtmb->setCodeGenOptLevel(tm->getOptLevel());
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
  if (!jit) throw std::runtime_error("JIT: " + message(jit.takeError()));
  // Generated code calls malloc, free, expf and logf: resolve them in this process.
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
  if (!gen) throw std::runtime_error("JIT: " + message(gen.takeError()));
  (*jit)->getMainJITDylib().addGenerator(std::move(*gen));
  mod->setDataLayout((*jit)->getDataLayout());
  if (auto e = (*jit)->addIRModule(llvm::orc::ThreadSafeModule(std::move(mod), std::move(ctx))))
    throw std::runtime_error("JIT: " + message(std::move(e)));
  auto sym = (*jit)->lookup(opts.descriptor);
  if (!sym) throw std::runtime_error("JIT: " + message(sym.takeError()));
  auto* desc = sym->toPtr<const sinter_model_desc*>();
  return std::make_unique<OrcModel>(std::move(*jit), desc);
}

}  // namespace sinter::codegen
