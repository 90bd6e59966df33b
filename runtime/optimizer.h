// Optimizers that update a model's f32 parameters from their gradients, following torch.optim's formulas.
#pragma once

#include <sinter/model_abi.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace sinter::rt {

class Optimizer {
public:
  // Builds the optimizer of config.optimizer for parameters of paramSizes[i] floats each. Throws
  // std::invalid_argument for an unknown optimizer kind or a negative size.
  static std::unique_ptr<Optimizer> create(const sinter_train_config& config, std::vector<int64_t> paramSizes);

  virtual ~Optimizer() = default;

  // One update: params[i] and grads[i] each hold paramSizes[i] floats. grads are only read.
  virtual void step(float* const* params, const float* const* grads) = 0;

  // The learning rate can change between steps (schedules); the optimizer state is kept.
  void setLr(float lr) { lr_ = lr; }
  float lr() const { return lr_; }
  // Number of step() calls so far.
  int64_t steps() const { return t_; }

protected:
  Optimizer(float lr, std::vector<int64_t> sizes) : lr_(lr), sizes_(std::move(sizes)) {}

  float lr_;
  int64_t t_ = 0;
  std::vector<int64_t> sizes_;
};

}  // namespace sinter::rt
