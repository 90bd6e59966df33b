#include "compiler/codegen/emit_module.h"

#include <fmt/format.h>
#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <sinter/model_abi.h>
#include <cctype>

#include "compiler/codegen/emit_kernels.h"

namespace sinter::codegen {
namespace {

// These structs mirror model_abi.h field by field; LLVM's natural layout equals the C ABI's for them.
llvm::StructType* tensorDescType(llvm::LLVMContext& ctx) {
  auto* p = llvm::PointerType::getUnqual(ctx);
  auto* i32 = llvm::Type::getInt32Ty(ctx);
  auto* f32 = llvm::Type::getFloatTy(ctx);
  return llvm::StructType::get(ctx, {p, i32, i32, p, i32, f32, f32});
}

llvm::StructType* trainConfigType(llvm::LLVMContext& ctx) {
  auto* i32 = llvm::Type::getInt32Ty(ctx);
  auto* i64 = llvm::Type::getInt64Ty(ctx);
  auto* f32 = llvm::Type::getFloatTy(ctx);
  // sinter_train_config: ABI 1 fields, then those appended in ABI 2, ABI 3's metrics, ABI 5's schedules.
  return llvm::StructType::get(ctx, {i32, i32, f32, f32, f32, f32, f32, f32, i64, i64, i64, i32, i32, f32, f32, f32,
                                     f32, f32, i32, f32, f32, i64, i64, i32, i32, f32, f32, f32, f32, f32, i64});
}

// sinter_param_group: a name and a train config.
llvm::StructType* paramGroupType(llvm::LLVMContext& ctx) {
  return llvm::StructType::get(ctx, {llvm::PointerType::getUnqual(ctx), trainConfigType(ctx)});
}

class DescriptorBuilder {
 public:
  DescriptorBuilder(llvm::Module& mod, const std::vector<std::string>& symbols)
      : mod_(mod), ctx_(mod.getContext()), symbols_(symbols) {}

  llvm::Constant* i32(std::int64_t v) {
    return llvm::ConstantInt::get(llvm::Type::getInt32Ty(ctx_), static_cast<std::uint64_t>(v));
  }
  llvm::Constant* i64(std::int64_t v) {
    return llvm::ConstantInt::get(llvm::Type::getInt64Ty(ctx_), static_cast<std::uint64_t>(v));
  }
  llvm::Constant* f32(double v) { return llvm::ConstantFP::get(llvm::Type::getFloatTy(ctx_), v); }
  llvm::Constant* null() { return llvm::ConstantPointerNull::get(llvm::PointerType::getUnqual(ctx_)); }

  llvm::Constant* string(const std::string& s) {
    auto* init = llvm::ConstantDataArray::getString(ctx_, s);
    return new llvm::GlobalVariable(mod_, init->getType(), true, llvm::GlobalValue::PrivateLinkage, init, ".str");
  }

  llvm::Constant* array(llvm::Type* elemTy, const std::vector<llvm::Constant*>& elems, const char* name) {
    if (elems.empty()) return null();
    auto* ty = llvm::ArrayType::get(elemTy, elems.size());
    return new llvm::GlobalVariable(mod_, ty, true, llvm::GlobalValue::PrivateLinkage,
                                    llvm::ConstantArray::get(ty, elems), name);
  }

  // dims >= 0 are fixed; a symbolic dimension k is stored as -k-1.
  llvm::Constant* dims(const ir::Shape& shape) {
    std::vector<llvm::Constant*> ds;
    for (const ir::Dim& d : shape) {
      if (!d.isSymbolic()) {
        ds.push_back(i64(d.size));
        continue;
      }
      auto it = std::find(symbols_.begin(), symbols_.end(), d.symbol);
      ds.push_back(i64(-static_cast<std::int64_t>(it - symbols_.begin()) - 1));
    }
    return array(llvm::Type::getInt64Ty(ctx_), ds, ".dims");
  }

  llvm::Constant* tensor(const std::string& name, const ir::TensorType& t, const ir::Init* init) {
    int dtype = SINTER_F32;
    switch (t.dtype) {
      case ir::DType::F32: dtype = SINTER_F32; break;
      case ir::DType::F64: dtype = SINTER_F64; break;
      case ir::DType::I32: dtype = SINTER_I32; break;
    }
    int kind = SINTER_INIT_ZEROS;
    double a = 0, b = 0;
    if (init) {
      a = init->a;
      b = init->b;
      switch (init->kind) {
        case ir::Init::Zeros: kind = SINTER_INIT_ZEROS; break;
        case ir::Init::Ones: kind = SINTER_INIT_ONES; break;
        case ir::Init::Constant: kind = SINTER_INIT_CONSTANT; break;
        case ir::Init::Uniform: kind = SINTER_INIT_UNIFORM; break;
        case ir::Init::Normal: kind = SINTER_INIT_NORMAL; break;
        case ir::Init::GlorotUniform: kind = SINTER_INIT_GLOROT_UNIFORM; break;
        case ir::Init::HeNormal: kind = SINTER_INIT_HE_NORMAL; break;
        case ir::Init::LecunUniform: kind = SINTER_INIT_LECUN_UNIFORM; break;
        case ir::Init::Data: kind = SINTER_INIT_DATA; break;
      }
    }
    return llvm::ConstantStruct::get(
        tensorDescType(ctx_), {string(name), i32(dtype), i32(static_cast<std::int64_t>(t.shape.size())), dims(t.shape),
                               i32(kind), f32(a), f32(b)});
  }

  llvm::Constant* tensors(const ir::Graph& g, const std::vector<ir::NodeId>& ids, const char* name) {
    std::vector<llvm::Constant*> ts;
    for (ir::NodeId id : ids) {
      const ir::Node& n = g.node(id);
      ts.push_back(tensor(n.name, n.type, n.op == ir::Op::Param ? &n.init : nullptr));
    }
    return array(tensorDescType(ctx_), ts, name);
  }

  llvm::Constant* outputs(const ir::Graph& g) {
    std::vector<llvm::Constant*> ts;
    for (const ir::Result& r : g.results) ts.push_back(tensor(r.name, g.node(r.node).type, nullptr));
    return array(tensorDescType(ctx_), ts, ".outputs");
  }

  llvm::Constant* trainConfig(const std::optional<ir::TrainConfig>& tc) {
    ir::TrainConfig c = tc.value_or(ir::TrainConfig{});
    int opt = SINTER_OPT_ADAM;
    switch (c.optimizer) {
      case ir::TrainConfig::SGD: opt = SINTER_OPT_SGD; break;
      case ir::TrainConfig::Adam: opt = SINTER_OPT_ADAM; break;
      case ir::TrainConfig::AdamW: opt = SINTER_OPT_ADAMW; break;
      case ir::TrainConfig::RMSProp: opt = SINTER_OPT_RMSPROP; break;
      case ir::TrainConfig::Adagrad: opt = SINTER_OPT_ADAGRAD; break;
    }
    int sched = SINTER_SCHED_CONSTANT;
    switch (c.schedule) {
      case ir::TrainConfig::Constant: sched = SINTER_SCHED_CONSTANT; break;
      case ir::TrainConfig::Step: sched = SINTER_SCHED_STEP; break;
      case ir::TrainConfig::Exponential: sched = SINTER_SCHED_EXPONENTIAL; break;
      case ir::TrainConfig::Cosine: sched = SINTER_SCHED_COSINE; break;
      case ir::TrainConfig::Linear: sched = SINTER_SCHED_LINEAR; break;
      case ir::TrainConfig::OneCycle: sched = SINTER_SCHED_ONE_CYCLE; break;
    }
    // The bits are sinter_metric's; 0 (no `metrics` setting) lets the driver choose the task's.
    const std::pair<ir::TrainConfig::Metric, int> bits[] = {
        {ir::TrainConfig::MetricLoss, SINTER_METRIC_LOSS},
        {ir::TrainConfig::MetricAccuracy, SINTER_METRIC_ACCURACY},
        {ir::TrainConfig::MetricTopK, SINTER_METRIC_TOP_K},
        {ir::TrainConfig::MetricMae, SINTER_METRIC_MAE},
        {ir::TrainConfig::MetricRmse, SINTER_METRIC_RMSE},
        {ir::TrainConfig::MetricR2, SINTER_METRIC_R2},
        {ir::TrainConfig::MetricPerplexity, SINTER_METRIC_PERPLEXITY},
        {ir::TrainConfig::MetricGradNorm, SINTER_METRIC_GRAD_NORM}};
    std::int64_t metrics = 0;
    for (const auto& [bit, abi] : bits)
      if (c.metrics & bit) metrics |= abi;
    return llvm::ConstantStruct::get(trainConfigType(ctx_), {i32(opt),
                                                             i32(c.nesterov),
                                                             f32(c.lr),
                                                             f32(c.momentum),
                                                             f32(c.beta1),
                                                             f32(c.beta2),
                                                             f32(c.eps),
                                                             f32(c.weightDecay),
                                                             i64(c.batch),
                                                             i64(c.epochs),
                                                             i64(static_cast<std::int64_t>(c.seed)),
                                                             i32(c.amsgrad),
                                                             i32(c.centered),
                                                             f32(c.dampening),
                                                             f32(c.alpha),
                                                             f32(c.lrDecay),
                                                             f32(c.initialAccumulator),
                                                             f32(c.clipNorm),
                                                             i32(sched),
                                                             f32(c.gamma),
                                                             f32(c.minLr),
                                                             i64(c.stepSize),
                                                             i64(c.warmupSteps),
                                                             i32(metrics),
                                                             i32(c.schedPerEpoch),
                                                             f32(c.startFactor),
                                                             f32(c.endFactor),
                                                             f32(c.pctStart),
                                                             f32(c.divFactor),
                                                             f32(c.finalDivFactor),
                                                             i64(c.totalIters)});
  }

  // sinter_model_desc's param_groups and param_group (one entry per param of g, -1 for none).
  std::pair<llvm::Constant*, llvm::Constant*> paramGroups(const ir::Graph& g,
                                                          const std::optional<ir::TrainConfig>& tc) {
    if (!tc || tc->groups.empty()) return {null(), null()};
    std::vector<llvm::Constant*> groups, of;
    for (const ir::TrainConfig::Group& group : tc->groups)
      groups.push_back(
          llvm::ConstantStruct::get(paramGroupType(ctx_), {string(group.name), trainConfig(group.config)}));
    for (ir::NodeId id : g.params) {
      std::int64_t index = -1;
      for (std::size_t k = 0; k < tc->groups.size(); ++k) {
        const std::vector<std::string>& members = tc->groups[k].params;
        if (std::find(members.begin(), members.end(), g.node(id).name) != members.end())
          index = static_cast<std::int64_t>(k);
      }
      of.push_back(i32(index));
    }
    return {array(paramGroupType(ctx_), groups, ".param_groups"),
            array(llvm::Type::getInt32Ty(ctx_), of, ".param_group")};
  }

  // sinter_model_desc's param_init_data: per param, a constant array of its given values (Init::Data) in its
  // dtype, or NULL; NULL when no param has any.
  llvm::Constant* paramInitData(const ir::Graph& g) {
    std::vector<llvm::Constant*> ptrs;
    bool any = false;
    for (ir::NodeId id : g.params) {
      const ir::Node& n = g.node(id);
      if (n.init.kind != ir::Init::Data || !n.init.data) {
        ptrs.push_back(null());
        continue;
      }
      any = true;
      const std::vector<float>& v = *n.init.data;
      llvm::Constant* values = nullptr;
      if (n.type.dtype == ir::DType::F64) {
        const std::vector<double> wide(v.begin(), v.end());
        values = llvm::ConstantDataArray::get(ctx_, llvm::ArrayRef<double>(wide));
      } else {
        values = llvm::ConstantDataArray::get(ctx_, llvm::ArrayRef<float>(v));
      }
      auto* global = new llvm::GlobalVariable(mod_, values->getType(), true, llvm::GlobalValue::PrivateLinkage, values,
                                              ".init_data");
      global->setAlignment(llvm::Align(64));
      ptrs.push_back(global);
    }
    return any ? array(llvm::PointerType::getUnqual(ctx_), ptrs, ".param_init_data") : null();
  }

  // sinter_model_desc's grad_bucket: each trained param's bucket; NULL without a train step.
  llvm::Constant* bucketOf(const GradBuckets& b) {
    if (b.bucketOf.empty()) return null();
    std::vector<llvm::Constant*> of;
    for (int k : b.bucketOf) of.push_back(i32(k));
    return array(llvm::Type::getInt32Ty(ctx_), of, ".grad_bucket");
  }

  // sinter_model_desc's data_flags: the train block's data settings, NULL-terminated; NULL without any.
  llvm::Constant* dataFlags(const std::optional<ir::TrainConfig>& tc) {
    if (!tc || tc->dataFlags.empty()) return null();
    std::vector<llvm::Constant*> flags;
    for (const std::string& f : tc->dataFlags) flags.push_back(string(f));
    flags.push_back(null());
    return array(llvm::PointerType::getUnqual(ctx_), flags, ".data_flags");
  }

 private:
  llvm::Module& mod_;
  llvm::LLVMContext& ctx_;
  const std::vector<std::string>& symbols_;
};

}  // namespace

std::string cIdentifier(const std::string& name) {
  std::string out;
  for (char c : name) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (out.empty() || std::isdigit(static_cast<unsigned char>(out[0]))) out = "_" + out;
  return out;
}

std::string descriptorSymbol(const Options& opts, const std::string& modelName) {
  return opts.descriptor.empty() ? cIdentifier(opts.symbolPrefix + modelName) + "_model" : opts.descriptor;
}

llvm::StructType* modelDescType(llvm::LLVMContext& ctx) {
  auto* p = llvm::PointerType::getUnqual(ctx);
  auto* i32 = llvm::Type::getInt32Ty(ctx);
  return llvm::StructType::get(
      ctx, {i32, i32, p, p, i32, i32, i32, i32, p, p, p, p, p, i32, i32, trainConfigType(ctx), p, p, i32, p, p, p, p,
            i32, p, p});
}

int vectorFloats(const llvm::TargetMachine& tm) {
  // The subtarget's features include those its CPU implies (--target-cpu znver4 without a feature list).
  if (!tm.getTargetTriple().isX86()) return 4;  // NEON and the portable fallback: 128-bit vectors
  const llvm::MCSubtargetInfo* sti = tm.getMCSubtargetInfo();
  if (sti->checkFeatures("+avx512f")) return 16;
  if (sti->checkFeatures("+avx")) return 8;
  return 4;
}

std::unique_ptr<llvm::Module> emitModule(const ir::Module& m, const LoweredGraph& lowered,
                                         const LoweredGraph* trainStep, const Options& opts,
                                         const llvm::TargetMachine& tm, llvm::LLVMContext& ctx) {
  auto mod = std::make_unique<llvm::Module>(m.name, ctx);
  mod->setDataLayout(tm.createDataLayout());
  const int lanes = vectorFloats(tm);
  const ir::Graph& fwd = m.forward;
  // The forward graph's symbols fix sym_dims' order for every entry point.
  const std::vector<std::string> symbols = fwd.symbols();
  const std::string descriptor = descriptorSymbol(opts, m.name);

  // The entry points are reached through the descriptor: hidden, so that a library exports the descriptor only.
  KernelFunctions kernels;  // the forward pass's kernels, shared with the train step's
  auto function = [&](const std::string& name, const ir::Graph& g, const LoweredGraph& l, bool training,
                      const GradBuckets* buckets) {
    llvm::Function* f = emitGraphFunction(*mod, descriptor + "_" + name, g, l.buffers, l.memory, l.program, lanes,
                                          training, buckets, &kernels);
    f->setVisibility(llvm::GlobalValue::HiddenVisibility);
    return f;
  };
  llvm::Function* forward = function("forward", fwd, lowered, false, nullptr);
  GradBuckets buckets;
  if (trainStep) buckets = planGradBuckets(m.trainStep, trainStep->program, opts.gradBucketBytes);
  llvm::Function* train = trainStep ? function("train_step", m.trainStep, *trainStep, true, &buckets) : nullptr;

  DescriptorBuilder d(*mod, symbols);
  std::vector<llvm::Constant*> symNames;
  for (const std::string& s : symbols) symNames.push_back(d.string(s));
  int lossOutput = -1;
  for (std::size_t i = 0; i < fwd.results.size(); ++i)
    if (fwd.results[i].kind == ir::Result::Loss) lossOutput = static_cast<int>(i);

  const auto [groups, groupOf] = d.paramGroups(fwd, m.train);
  const std::int64_t numGroups = m.train ? static_cast<std::int64_t>(m.train->groups.size()) : 0;
  auto* descTy = modelDescType(ctx);
  llvm::Constant* init = llvm::ConstantStruct::get(
      descTy, {d.i32(SINTER_ABI_VERSION),
               d.i32(static_cast<std::int64_t>(symbols.size())),
               d.string(m.name),
               d.array(llvm::PointerType::getUnqual(ctx), symNames, ".sym_names"),
               d.i32(static_cast<std::int64_t>(fwd.inputs.size())),
               d.i32(static_cast<std::int64_t>(fwd.params.size())),
               d.i32(static_cast<std::int64_t>(fwd.results.size())),
               d.i32(lossOutput),
               d.tensors(fwd, fwd.inputs, ".inputs"),
               d.tensors(fwd, fwd.params, ".params"),
               d.outputs(fwd),
               forward,
               train ? static_cast<llvm::Constant*>(train) : d.null(),
               d.i32(m.train ? 1 : 0),
               d.i32(static_cast<std::int64_t>(fwd.params.size() - fwd.trainedParams().size())),
               d.trainConfig(m.train),
               parallelHook(*mod),
               scratchHook(*mod),
               d.i32(numGroups),
               groups,
               groupOf,
               d.dataFlags(m.train),
               d.paramInitData(fwd),
               d.i32(static_cast<std::int64_t>(buckets.buckets.size())),
               d.bucketOf(buckets),
               bucketHook(*mod)});
  new llvm::GlobalVariable(*mod, descTy, true, llvm::GlobalValue::ExternalLinkage, init, descriptor);
  return mod;
}

}  // namespace sinter::codegen
