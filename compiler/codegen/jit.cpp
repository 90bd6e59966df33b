// In-process linking with ORC's LLJIT: the object files `sinter build` would link into a library, linked into this
// process instead.
#include <fmt/format.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/Support/MemoryBuffer.h>
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

std::unique_ptr<JitModel> loadJit(std::vector<std::string> objects, const std::string& descriptor) {
  auto jtmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!jtmb) throw std::runtime_error("JIT: " + message(jtmb.takeError()));
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(std::move(*jtmb)).create();
  if (!jit) throw std::runtime_error("JIT: " + message(jit.takeError()));
  // Generated code calls malloc, free, expf and logf: resolve them in this process.
  auto gen = llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess((*jit)->getDataLayout().getGlobalPrefix());
  if (!gen) throw std::runtime_error("JIT: " + message(gen.takeError()));
  (*jit)->getMainJITDylib().addGenerator(std::move(*gen));
  // The parts call each other's functions by their (hidden) names: one JITDylib resolves them as a static
  // link would.
  for (std::size_t i = 0; i < objects.size(); ++i) {
    auto buf = llvm::MemoryBuffer::getMemBufferCopy(objects[i], fmt::format("{}.part{}.o", descriptor, i));
    if (auto e = (*jit)->addObjectFile(std::move(buf))) throw std::runtime_error("JIT: " + message(std::move(e)));
  }
  auto sym = (*jit)->lookup(descriptor);
  if (!sym) throw std::runtime_error("JIT: " + message(sym.takeError()));
  auto* desc = sym->toPtr<const sinter_model_desc*>();
  return std::make_unique<OrcModel>(std::move(*jit), desc);
}

}  // namespace sinter::codegen
