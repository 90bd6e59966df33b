#include "compiler/codegen/target.h"

#include <fmt/format.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Verifier.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>
#include <mutex>
#include <stdexcept>

namespace sinter::codegen {
namespace {

void initializeTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    llvm::InitializeAllAsmParsers();
  });
}

std::string hostFeatures() {
  std::string out;
  for (const auto& f : llvm::sys::getHostCPUFeatures()) {
    if (!out.empty()) out += ',';
    out += (f.second ? "+" : "-") + f.first().str();
  }
  return out;
}

llvm::OptimizationLevel optLevel(int level) {
  switch (level) {
    case 0: return llvm::OptimizationLevel::O0;
    case 1: return llvm::OptimizationLevel::O1;
    case 2: return llvm::OptimizationLevel::O2;
    default: return llvm::OptimizationLevel::O3;
  }
}

}  // namespace

std::unique_ptr<llvm::TargetMachine> createTargetMachine(const Options& opts) {
  initializeTargets();
  const std::string triple = opts.targetTriple.empty() ? llvm::sys::getProcessTriple() : opts.targetTriple;
  std::string err;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target) throw std::runtime_error(fmt::format("unknown target triple '{}': {}", triple, err));
  const bool host = opts.targetCpu.empty() && opts.targetTriple.empty();
  const std::string cpu =
      opts.targetCpu.empty() ? (host ? llvm::sys::getHostCPUName().str() : "generic") : opts.targetCpu;
  const std::string features = host ? hostFeatures() : "";
  // Check the CPU first: LLVM would only warn on stderr and fall back to a generic one.
  std::unique_ptr<llvm::MCSubtargetInfo> sti(target->createMCSubtargetInfo(triple, "", ""));
  if (!sti || !sti->isCPUStringValid(cpu))
    throw std::runtime_error(fmt::format("unknown CPU '{}' for target {}", cpu, triple));
  llvm::TargetOptions to;
  // Assembly with block comments (loop headers and depths), for `sinter dump --stage=asm`.
  to.MCOptions.AsmVerbose = true;
  auto level = opts.optLevel == 0 ? llvm::CodeGenOptLevel::None : llvm::CodeGenOptLevel::Aggressive;
  std::unique_ptr<llvm::TargetMachine> tm(
      target->createTargetMachine(triple, cpu, features, to, llvm::Reloc::PIC_, std::nullopt, level));
  if (!tm) throw std::runtime_error(fmt::format("cannot create a target machine for {} ({})", triple, cpu));
  return tm;
}

void optimizeModule(llvm::Module& mod, llvm::TargetMachine& tm, const Options& opts) {
  mod.setTargetTriple(tm.getTargetTriple().str());
  mod.setDataLayout(tm.createDataLayout());
  for (llvm::Function& f : mod) {
    if (f.isDeclaration()) continue;
    f.addFnAttr("target-cpu", tm.getTargetCPU());
    if (!tm.getTargetFeatureString().empty()) f.addFnAttr("target-features", tm.getTargetFeatureString());
  }
  std::string err;
  llvm::raw_string_ostream es(err);
  if (llvm::verifyModule(mod, &es)) throw std::logic_error("codegen produced invalid LLVM IR: " + err);
  if (opts.optLevel == 0) return;

  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  // No loop unrolling and no interleaving of vectorized loops: the kernels that need them (the GEMM tile)
  // are unrolled by construction, the elementwise loops are bound by memory, and the copies made for them
  // multiplied the compile time of large graphs (an unrolled LSTM) several times over.
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = false;
  tuning.LoopInterleaving = false;
  llvm::PassBuilder pb(&tm, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(optLevel(opts.optLevel)).run(mod, mam);
}

std::string emitCode(llvm::Module& mod, llvm::TargetMachine& tm, CodeFile kind) {
  llvm::SmallString<0> buf;
  llvm::raw_svector_ostream os(buf);
  llvm::legacy::PassManager pm;
  const auto type =
      kind == CodeFile::Assembly ? llvm::CodeGenFileType::AssemblyFile : llvm::CodeGenFileType::ObjectFile;
  if (tm.addPassesToEmitFile(pm, os, nullptr, type))
    throw std::runtime_error("the target cannot emit this kind of file");
  pm.run(mod);
  return std::string(buf.str());
}

}  // namespace sinter::codegen
