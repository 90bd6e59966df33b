#include "frontend/builtins.h"

namespace sinter::frontend {

const std::vector<InitSpec>& initializers() {
  static const std::vector<InitSpec> table = {
      {"zeros", ir::Init::Zeros, {}},
      {"ones", ir::Init::Ones, {}},
      {"constant", ir::Init::Constant, {{"value", {}}}},
      {"uniform", ir::Init::Uniform, {{"low", {}}, {"high", {}}}},
      {"normal", ir::Init::Normal, {{"mean", 0.0}, {"std", 1.0}}},
      {"glorot_uniform", ir::Init::GlorotUniform, {}},
      {"he_normal", ir::Init::HeNormal, {}},
      {"lecun_uniform", ir::Init::LecunUniform, {}},
  };
  return table;
}

// Defaults are PyTorch's torch.optim ones (torch.optim.SGD has no default lr, 0.01 is Keras's).
const std::vector<OptimizerSpec>& optimizers() {
  using C = ir::TrainConfig;
  using H = HyperParam;
  static const std::vector<OptimizerSpec> table = {
      {"adam",
       C::Adam,
       {{"lr", &C::lr, H::Positive, 1e-3},
        {"beta1", &C::beta1, H::Fraction, 0.9},
        {"beta2", &C::beta2, H::Fraction, 0.999},
        {"eps", &C::eps, H::Positive, 1e-8},
        {"weight_decay", &C::weightDecay, H::NonNegative, 0},
        {"amsgrad", &C::amsgrad, H::Bool, 0}}},
      {"adamw",
       C::AdamW,
       {{"lr", &C::lr, H::Positive, 1e-3},
        {"beta1", &C::beta1, H::Fraction, 0.9},
        {"beta2", &C::beta2, H::Fraction, 0.999},
        {"eps", &C::eps, H::Positive, 1e-8},
        {"weight_decay", &C::weightDecay, H::NonNegative, 0.01},
        {"amsgrad", &C::amsgrad, H::Bool, 0}}},
      {"sgd",
       C::SGD,
       {{"lr", &C::lr, H::Positive, 0.01},
        {"momentum", &C::momentum, H::NonNegative, 0},
        {"nesterov", &C::nesterov, H::Bool, 0},
        {"weight_decay", &C::weightDecay, H::NonNegative, 0},
        {"dampening", &C::dampening, H::UnitInterval, 0}}},
      {"rmsprop",
       C::RMSProp,
       {{"lr", &C::lr, H::Positive, 0.01},
        {"alpha", &C::alpha, H::Fraction, 0.99},
        {"eps", &C::eps, H::Positive, 1e-8},
        {"weight_decay", &C::weightDecay, H::NonNegative, 0},
        {"momentum", &C::momentum, H::NonNegative, 0},
        {"centered", &C::centered, H::Bool, 0}}},
      {"adagrad",
       C::Adagrad,
       {{"lr", &C::lr, H::Positive, 0.01},
        {"lr_decay", &C::lrDecay, H::NonNegative, 0},
        {"weight_decay", &C::weightDecay, H::NonNegative, 0},
        {"initial_accumulator_value", &C::initialAccumulator, H::NonNegative, 0},
        {"eps", &C::eps, H::Positive, 1e-10}}},
  };
  return table;
}

// Learning-rate schedules; step and exponential count epochs (torch's StepLR / ExponentialLR stepped once
// per epoch), cosine anneals over every optimizer step of the run; warmup counts optimizer steps.
const std::vector<ScheduleSpec>& schedules() {
  using C = ir::TrainConfig;
  using H = HyperParam;
  static const std::vector<ScheduleSpec> table = {
      {"constant", C::Constant, {{"warmup", &C::warmupSteps, H::NonNegativeInt, 0}}},
      {"step",
       C::Step,
       {{"step_size", &C::stepSize, H::PositiveInt, 1},
        {"gamma", &C::gamma, H::Positive, 0.1},
        {"warmup", &C::warmupSteps, H::NonNegativeInt, 0}}},
      {"exponential",
       C::Exponential,
       {{"gamma", &C::gamma, H::Positive, 0.9}, {"warmup", &C::warmupSteps, H::NonNegativeInt, 0}}},
      {"cosine",
       C::Cosine,
       {{"min_lr", &C::minLr, H::NonNegative, 0}, {"warmup", &C::warmupSteps, H::NonNegativeInt, 0}}},
      // torch's defaults are start_factor 1/3, end_factor 1, total_iters 5; these decay to 0 over the run.
      {"linear",
       C::Linear,
       {{"start_factor", &C::startFactor, H::Positive, 1},
        {"end_factor", &C::endFactor, H::NonNegative, 0},
        {"total_iters", &C::totalIters, H::NonNegativeInt, 0},
        {"per_epoch", &C::schedPerEpoch, H::Bool, 0},
        {"warmup", &C::warmupSteps, H::NonNegativeInt, 0}}},
      {"one_cycle",
       C::OneCycle,
       {{"pct_start", &C::pctStart, H::OpenFraction, 0.3},
        {"div_factor", &C::divFactor, H::Positive, 25},
        {"final_div_factor", &C::finalDivFactor, H::Positive, 1e4},
        {"per_epoch", &C::schedPerEpoch, H::Bool, 0},
        {"warmup", &C::warmupSteps, H::NonNegativeInt, 0}}},
  };
  return table;
}

// Keras's names. The loss is always reported; listing it says so in the file.
const std::vector<MetricSpec>& metrics() {
  static const std::vector<MetricSpec> table = {
      {"loss", ir::TrainConfig::MetricLoss},
      {"accuracy", ir::TrainConfig::MetricAccuracy},
      {"top_k_accuracy", ir::TrainConfig::MetricTopK},
      {"mae", ir::TrainConfig::MetricMae},
      {"rmse", ir::TrainConfig::MetricRmse},
      {"r2", ir::TrainConfig::MetricR2},
      {"perplexity", ir::TrainConfig::MetricPerplexity},
      {"grad_norm", ir::TrainConfig::MetricGradNorm},
  };
  return table;
}

namespace {
template <class Spec>
const Spec* find(const std::vector<Spec>& table, std::string_view name) {
  for (const Spec& s : table)
    if (s.name == name) return &s;
  return nullptr;
}
}  // namespace

const InitSpec* findInitializer(std::string_view name) { return find(initializers(), name); }
const OptimizerSpec* findOptimizer(std::string_view name) { return find(optimizers(), name); }
const ScheduleSpec* findSchedule(std::string_view name) { return find(schedules(), name); }
const MetricSpec* findMetric(std::string_view name) { return find(metrics(), name); }

}  // namespace sinter::frontend
