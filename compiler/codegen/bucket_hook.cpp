// The generated side of the gradient buckets' hook (model_abi.h, sinter_bucket_hook): the model's writable
// hook, and the internal function the train step calls after the kernel that completes a bucket. The call
// goes through a function of its own so that the entry point stays straight-line glue (no branch on the
// hook per bucket), and costs a load and a compare when no runtime installed a hook.
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/IRBuilder.h>

#include "compiler/codegen/emit_kernels.h"

namespace sinter::codegen {

namespace {

llvm::StructType* hookType(llvm::LLVMContext& ctx) {
  auto* p = llvm::PointerType::getUnqual(ctx);
  return llvm::StructType::get(ctx, {p, p});  // {ready, ctx}
}

}  // namespace

llvm::GlobalVariable* bucketHook(llvm::Module& mod) {
  const char* name = "sinter.bucket_hook";
  if (llvm::GlobalVariable* g = mod.getNamedGlobal(name)) return g;
  llvm::StructType* t = hookType(mod.getContext());
  return new llvm::GlobalVariable(mod, t, false, llvm::GlobalValue::InternalLinkage,
                                  llvm::ConstantAggregateZero::get(t), name);
}

// void sinter.bucket_ready(i32 bucket): if (hook.ready) hook.ready(hook.ctx, bucket).
llvm::Function* bucketReadyFunction(llvm::Module& mod) {
  const char* name = "sinter.bucket_ready";
  if (llvm::Function* f = mod.getFunction(name)) return f;
  llvm::LLVMContext& ctx = mod.getContext();
  auto* ptrTy = llvm::PointerType::getUnqual(ctx);
  auto* i32 = llvm::Type::getInt32Ty(ctx);
  auto* fn = llvm::Function::Create(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {i32}, false),
                                    llvm::Function::InternalLinkage, name, mod);
  fn->addFnAttr(llvm::Attribute::NoInline);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  llvm::GlobalVariable* hook = bucketHook(mod);
  llvm::StructType* t = hookType(ctx);
  llvm::Value* ready = b.CreateLoad(ptrTy, b.CreateStructGEP(t, hook, 0), "ready");
  llvm::BasicBlock* call = llvm::BasicBlock::Create(ctx, "call", fn);
  llvm::BasicBlock* done = llvm::BasicBlock::Create(ctx, "done", fn);
  b.CreateCondBr(b.CreateIsNull(ready), done, call);
  b.SetInsertPoint(call);
  llvm::Value* context = b.CreateLoad(ptrTy, b.CreateStructGEP(t, hook, 1), "ctx");
  b.CreateCall(llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptrTy, i32}, false), ready,
               {context, fn->getArg(0)});
  b.CreateBr(done);
  b.SetInsertPoint(done);
  b.CreateRetVoid();
  return fn;
}

}  // namespace sinter::codegen
