// Parallel loops in generated code: a kernel's outer loop becomes a function of its own (the "body",
// over iterations [begin, end)) that the runtime calls from several threads through the model's
// parallel_for hook (model_abi.h). The body finds the buffers, symbols and seed in an environment the
// entry point fills once, so a kernel needs no per-loop capture list.
#include <fmt/format.h>
#include <llvm/IR/GlobalVariable.h>
#include <algorithm>
#include <stdexcept>

#include "compiler/codegen/emit_kernels.h"
#include "compiler/codegen/kernel_emitter.h"

namespace sinter::codegen {

llvm::GlobalVariable* parallelHook(llvm::Module& mod) {
  const char* name = "sinter.parallel_for";
  if (llvm::GlobalVariable* g = mod.getNamedGlobal(name)) return g;
  auto* ptrTy = llvm::PointerType::getUnqual(mod.getContext());
  return new llvm::GlobalVariable(mod, ptrTy, false, llvm::GlobalValue::InternalLinkage,
                                  llvm::ConstantPointerNull::get(ptrTy), name);
}

llvm::GlobalVariable* scratchHook(llvm::Module& mod) {
  const char* name = "sinter.scratch";
  if (llvm::GlobalVariable* g = mod.getNamedGlobal(name)) return g;
  auto* ptrTy = llvm::PointerType::getUnqual(mod.getContext());
  return new llvm::GlobalVariable(mod, ptrTy, false, llvm::GlobalValue::InternalLinkage,
                                  llvm::ConstantPointerNull::get(ptrTy), name);
}

// A node's buffer in the function being emitted: in a kernel function or its parallel body, the argument
// (or environment slot) of the node's memory.
Value* KernelEmitter::buffer(ir::NodeId id) {
  if (!ptr_[id] && fn_ != entryFn_ && fn_ == homeArgsFn_)
    if (auto it = homeArgs_.find(homeOf_[id]); it != homeArgs_.end()) ptr_[id] = it->second;
  if (!ptr_[id]) throw std::logic_error(fmt::format("codegen: %{} has no buffer in this kernel", id));
  return ptr_[id];
}

// Every environment starts with the symbols' values and the seed, 8 bytes a slot; a parallel body's
// continues with the pointers of its kernel's memories (parallelFor). The entry point's has no more.
void KernelEmitter::prepareEnvironment() {
  entryFn_ = fn_;
  const std::size_t syms = plan_.symbols.size();
  llvm::IRBuilder<> eb(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
  env_ = eb.CreateAlloca(llvm::ArrayType::get(i64(), syms + 1), nullptr, "env");
  for (std::size_t k = 0; k < syms; ++k)
    b_.CreateStore(syms_.at(plan_.symbols[k]), b_.CreateConstInBoundsGEP1_64(i64(), env_, k));
  if (seed_) b_.CreateStore(seed_, b_.CreateConstInBoundsGEP1_64(i64(), env_, syms));
}

llvm::Function* KernelEmitter::outline(const std::string& name, const std::function<void(Value*, Value*)>& body,
                                       const std::vector<int>& homes, bool homesInEnv) {
  auto* ptrTy = b_.getPtrTy();
  std::vector<llvm::Type*> params = {ptrTy, i64(), i64()};
  if (!homesInEnv) params.insert(params.end(), homes.size(), ptrTy);
  auto* bodyTy = llvm::FunctionType::get(b_.getVoidTy(), params, false);
  auto* outlined = llvm::Function::Create(bodyTy, llvm::Function::InternalLinkage, name, mod_);
  outlined->addFnAttr(llvm::Attribute::NoUnwind);
  // Kept out of line: one function per kernel keeps LLVM's passes fast (they are superlinear in function
  // size: an unrolled LSTM's train step as one function took minutes to compile), and a parallel body is
  // called through the runtime anyway.
  outlined->addFnAttr(llvm::Attribute::NoInline);
  // One argument per memory a kernel touches (an ABI buffer or an arena slot): distinct memories never
  // overlap, so the arguments are noalias, and LLVM vectorizes without runtime overlap checks. Nodes that
  // share a memory (an op in place over its operand) share the argument.
  if (!homesInEnv)
    for (std::size_t h = 0; h < homes.size(); ++h)
      outlined->addParamAttr(static_cast<unsigned>(3 + h), llvm::Attribute::NoAlias);

  // Emit the body in its own function, with the emitter's view of buffers and symbols redirected to the
  // environment; unused loads vanish in the optimizer.
  const auto savedIP = b_.saveIP();
  llvm::Function* savedFn = fn_;
  const ir::NodeMap<Value*> savedPtr = ptr_;
  const std::map<std::string, Value*> savedSyms = syms_;
  Value* savedSeed = seed_;
  Value* savedEnv = env_;
  llvm::Function* savedHomeFn = homeArgsFn_;
  const std::map<int, Value*> savedHomes = homeArgs_;
  const std::vector<int> savedOrder = homeOrder_;
  fn_ = outlined;
  b_.SetInsertPoint(llvm::BasicBlock::Create(ctx_, "entry", outlined));
  Value* env = outlined->getArg(0);
  env_ = env;  // kernels inside may run parallel loops of their own
  auto slot = [&](std::size_t i) { return b_.CreateConstInBoundsGEP1_64(i64(), env, i); };
  ptr_.fill(nullptr);  // loaded from env on first use (buffer())
  for (std::size_t k = 0; k < plan_.symbols.size(); ++k)
    syms_[plan_.symbols[k]] = b_.CreateLoad(i64(), slot(k), plan_.symbols[k]);
  if (seed_) seed_ = b_.CreateLoad(i64(), slot(plan_.symbols.size()), "seed");
  if (!homes.empty()) {
    homeArgsFn_ = outlined;
    homeArgs_.clear();
    homeOrder_ = homes;
    for (std::size_t h = 0; h < homes.size(); ++h)
      homeArgs_[homes[h]] = homesInEnv ? static_cast<Value*>(b_.CreateLoad(ptrTy, slot(plan_.symbols.size() + 1 + h)))
                                       : outlined->getArg(static_cast<unsigned>(3 + h));
  }
  body(outlined->getArg(1), outlined->getArg(2));
  b_.CreateRetVoid();
  fn_ = savedFn;
  ptr_ = savedPtr;
  syms_ = savedSyms;
  seed_ = savedSeed;
  env_ = savedEnv;
  homeArgsFn_ = savedHomeFn;
  homeArgs_ = savedHomes;
  homeOrder_ = savedOrder;
  b_.restoreIP(savedIP);
  return outlined;
}

void KernelEmitter::parallelFor(Value* count, Value* work, const std::function<void(Value*, Value*)>& body) {
  auto* ptrTy = b_.getPtrTy();
  // Inside a kernel function the body gets an environment of its own: the symbols, the seed and the
  // kernel's memories. It then depends on the kernel's structure only, not on which nodes it runs for, so
  // identical kernels (the time steps of an unrolled RNN) share one function, body included.
  if (fn_ != homeArgsFn_) throw std::logic_error("codegen: a parallel loop outside a kernel function");
  const std::size_t syms = plan_.symbols.size();
  llvm::IRBuilder<> eb(&fn_->getEntryBlock(), fn_->getEntryBlock().begin());
  Value* env = eb.CreateAlloca(llvm::ArrayType::get(i64(), syms + 1 + homeOrder_.size()), nullptr, "par_env");
  auto slot = [&](std::size_t i) { return b_.CreateConstInBoundsGEP1_64(i64(), env, i); };
  for (std::size_t k = 0; k < syms; ++k) b_.CreateStore(syms_.at(plan_.symbols[k]), slot(k));
  if (seed_) b_.CreateStore(seed_, slot(syms));
  for (std::size_t h = 0; h < homeOrder_.size(); ++h) b_.CreateStore(homeArgs_.at(homeOrder_[h]), slot(syms + 1 + h));
  // Named after its kernel function: sinter_model_train_step.k3.matmul_add_relu.par
  llvm::Function* outlined = outline(fn_->getName().str() + ".par", body, homeOrder_, true);

  // hook ? hook(body, env, count, work) : body(env, 0, count)
  Value* hook = b_.CreateLoad(ptrTy, parallelHook(mod_), "parallel_for");
  llvm::BasicBlock* viaHook = llvm::BasicBlock::Create(ctx_, "via_hook", fn_);
  llvm::BasicBlock* direct = llvm::BasicBlock::Create(ctx_, "direct", fn_);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx_, "parallel_done", fn_);
  b_.CreateCondBr(b_.CreateIsNull(hook), direct, viaHook);
  b_.SetInsertPoint(viaHook);
  auto* hookTy = llvm::FunctionType::get(b_.getVoidTy(), {ptrTy, ptrTy, i64(), i64()}, false);
  b_.CreateCall(hookTy, hook, {outlined, env, count, work});
  b_.CreateBr(done);
  b_.SetInsertPoint(direct);
  b_.CreateCall(outlined, {env, c64(0), count});
  b_.CreateBr(done);
  b_.SetInsertPoint(done);
}

}  // namespace sinter::codegen
