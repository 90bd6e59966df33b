#include "frontend/builtins.h"

namespace sinter::frontend {

const std::vector<FunctionSpec>& functions() {
  static const std::vector<FunctionSpec> table = {
      {"relu", ir::Op::Relu, {{"x", {}}}, checkRelu},
      {"softmax", ir::Op::Softmax, {{"x", {}}}, checkSoftmax},
      {"cross_entropy", ir::Op::CrossEntropy, {{"logits", {}}, {"labels", {}}}, checkCrossEntropy},
  };
  return table;
}

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

// Defaults are PyTorch's (torch.optim.Adam; torch.optim.SGD has no default lr, 0.01 is Keras's).
const std::vector<OptimizerSpec>& optimizers() {
  using C = ir::TrainConfig;
  static const std::vector<OptimizerSpec> table = {
      {"adam",
       C::Adam,
       {{"lr", &C::lr, HyperParam::Positive, 1e-3},
        {"beta1", &C::beta1, HyperParam::Fraction, 0.9},
        {"beta2", &C::beta2, HyperParam::Fraction, 0.999},
        {"eps", &C::eps, HyperParam::Positive, 1e-8},
        {"weight_decay", &C::weightDecay, HyperParam::NonNegative, 0}}},
      {"sgd",
       C::SGD,
       {{"lr", &C::lr, HyperParam::Positive, 0.01},
        {"momentum", &C::momentum, HyperParam::NonNegative, 0},
        {"nesterov", &C::nesterov, HyperParam::Bool, 0},
        {"weight_decay", &C::weightDecay, HyperParam::NonNegative, 0}}},
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

const FunctionSpec* findFunction(std::string_view name) { return find(functions(), name); }
const InitSpec* findInitializer(std::string_view name) { return find(initializers(), name); }
const OptimizerSpec* findOptimizer(std::string_view name) { return find(optimizers(), name); }

}  // namespace sinter::frontend
