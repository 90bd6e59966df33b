// Optimizers that update a model's parameters from their gradients, following torch.optim's formulas,
// plus the learning-rate schedules and gradient clipping that drive them. Params are f32 or f64 (one dtype
// per optimizer); the optimizer state has the params' dtype, as in torch.
#pragma once

#include <sinter/model_abi.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sinter::rt {

// One buffer of optimizer state for one param, named as torch.optim names it in its state dict
// ("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "momentum_buffer", "square_avg", "grad_avg", "sum").
struct StateBuffer {
  std::string name;
  int32_t param;  // index of the param it belongs to
  void* data;     // paramSizes[param] elements of the optimizer's dtype
  int32_t dtype;  // SINTER_F32 or SINTER_F64
};

// A set of params with hyper-parameters of their own: torch.optim's param groups, the train block's `group`.
struct ParamGroup {
  sinter_train_config config;   // the optimizer's hyper-parameters for these params (its kind is the optimizer's)
  std::vector<int32_t> params;  // indices of its params
  double lrRatio = 1;           // its base rate over the train config's: a schedule or --lr scales both alike
};

// The groups of a model's descriptor (sinter_model_desc.param_groups), none when it has none. Throws
// std::invalid_argument for a malformed table: a group index out of range, a group of another optimizer,
// a group rate with a train rate of 0.
std::vector<ParamGroup> paramGroupsOf(const sinter_model_desc& model);

class Optimizer {
 public:
  // Builds the optimizer of config.optimizer for parameters of paramSizes[i] elements of `dtype` each
  // (SINTER_F32 or SINTER_F64); the params of `groups` take their group's hyper-parameters, the others
  // config's. Throws std::invalid_argument for an unknown optimizer kind or dtype, a negative size, or a
  // param of no or two groups' index.
  static std::unique_ptr<Optimizer> create(const sinter_train_config& config, std::vector<int64_t> paramSizes,
                                           int32_t dtype = SINTER_F32, std::vector<ParamGroup> groups = {});

  virtual ~Optimizer() = default;

  // One update: params[i] and grads[i] each hold paramSizes[i] elements of the optimizer's dtype. grads
  // are only read.
  virtual void step(void* const* params, const void* const* grads) = 0;
  // The same for f32 params.
  void step(float* const* params, const float* const* grads);

  int32_t dtype() const { return dtype_; }

  // Every state buffer, in a fixed order (by kind, then param), for checkpoints: reading and writing
  // through these pointers saves and restores the optimizer exactly (with setSteps).
  virtual std::vector<StateBuffer> state() = 0;

  // The learning rates can change between steps (schedules); the optimizer state is kept. Every group's
  // rate becomes rate(its lrRatio), the rate of the params in no group rate(1).
  virtual void setLrs(const std::function<double(double lrRatio)>& rate) { lr_ = static_cast<float>(rate(1.0)); }
  // The same with every group's rate lr * its lrRatio: lr is the rate of the params in no group.
  void setLr(float lr) {
    setLrs([lr](double ratio) { return static_cast<double>(lr) * ratio; });
  }
  // The rate of the params in no group.
  float lr() const { return lr_; }
  // Number of step() calls so far; setSteps restores it from a checkpoint.
  int64_t steps() const { return t_; }
  virtual void setSteps(int64_t t) { t_ = t; }

  // The first param (in order) that holds a NaN or an infinity after the last step(), or -1. Every step
  // checks the elements it has just written while they are still in cache, so a gradient that is finite
  // in the loss but not in the update (or an update that overflows) is caught at the step that made it.
  virtual int32_t nonFiniteParam() const;

 protected:
  Optimizer(float lr, std::vector<int64_t> sizes, int32_t dtype)
      : lr_(lr), sizes_(std::move(sizes)), dtype_(dtype), nonFinite_(sizes_.size(), 0) {}

  // Called by step() first: counts the step and clears the non-finite flags.
  void beginStep();
  // Called by step() for each chunk of param i it updated: flags the param if a value is not finite.
  // Chunks run on several threads; the flag is written atomically.
  void checkFinite(size_t i, const float* p, int64_t n);
  void checkFinite(size_t i, const double* p, int64_t n);

  float lr_;
  int64_t t_ = 0;
  std::vector<int64_t> sizes_;
  int32_t dtype_;

 private:
  std::vector<unsigned char> nonFinite_;  // per param, set during the last step
};

// torch.nn.utils.clip_grad_norm_: total = sqrt(sum of squares of every gradient element), accumulated in
// double; when total > maxNorm, every gradient is multiplied by maxNorm / (total + 1e-6). Returns total.
// grads[i] holds sizes[i] elements of `dtype` (SINTER_F32 or SINTER_F64).
double clipGradNorm(void* const* grads, const std::vector<int64_t>& sizes, int32_t dtype, double maxNorm);

// The L2 norm of each gradient grads[i] (sizes[i] elements of `dtype`), accumulated in double: the
// grad_norm metric's figures.
std::vector<double> gradNorms(const void* const* grads, const std::vector<int64_t>& sizes, int32_t dtype);

}  // namespace sinter::rt
