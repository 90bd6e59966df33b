// A compiled model: its forward graph, its training step graph and the training configuration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "compiler/ir/graph.h"

namespace sinter::ir {

// Mirrors sinter_train_config (runtime/include/sinter/model_abi.h); emit_module.cpp copies it field by field.
struct TrainConfig {
  enum Optimizer { SGD, Adam, AdamW, RMSProp, Adagrad };
  enum Schedule { Constant, Step, Exponential, Cosine, Linear, OneCycle };
  struct Group;
  // What the training driver reports per epoch: bits, as sinter_metric. The loss is always among them.
  enum Metric : std::uint32_t {
    MetricLoss = 1,
    MetricAccuracy = 2,
    MetricTopK = 4,
    MetricMae = 8,
    MetricRmse = 16,
    MetricR2 = 32,
    MetricPerplexity = 64,
    MetricGradNorm = 128
  };
  std::string loss;  // name of the scalar value to minimize
  Optimizer optimizer = Adam;
  double lr = 1e-3;
  double momentum = 0;                            // sgd, rmsprop
  double dampening = 0;                           // sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw (eps also rmsprop, adagrad)
  double alpha = 0.99;                            // rmsprop
  double lrDecay = 0, initialAccumulator = 0;     // adagrad
  double weightDecay = 0;
  bool nesterov = false;
  bool amsgrad = false;
  bool centered = false;
  double clipNorm = 0;  // > 0: clip gradients by global norm
  Schedule schedule = Constant;
  double gamma = 0.1;         // step, exponential
  double minLr = 0;           // cosine
  std::int64_t stepSize = 1;  // step: epochs between decays
  std::int64_t warmupSteps = 0;
  double startFactor = 1, endFactor = 0;                        // linear
  std::int64_t totalIters = 0;                                  // linear: 0 for the whole run
  double pctStart = 0.3, divFactor = 25, finalDivFactor = 1e4;  // one-cycle
  bool schedPerEpoch = false;                                   // linear, one-cycle: stepped per epoch
  std::int64_t batch = 32;
  std::int64_t epochs = 1;
  std::uint64_t seed = 0;
  std::uint32_t metrics = 0;  // 0 (no `metrics` setting): the task's, chosen by the driver
  std::vector<Group> groups;  // param groups, in the order of the train block
  // The block's `data` settings as the training driver's flags, "--train-csv=FILE", in the block's order.
  std::vector<std::string> dataFlags;
};

// A param group: params whose optimizer hyper-parameters differ from the train block's.
struct TrainConfig::Group {
  std::string name;
  std::vector<std::string> params;  // the names of its params, in the forward graph's param order
  TrainConfig config;               // the train block's config with the group's overrides; no groups
};

struct Module {
  std::string name;
  Graph forward;  // results: the model's outputs, then the loss (kind Loss) when training
  // The model elaborated in train mode (`training` is 1; each state's next value is a State result), when
  // that differs from forward: the model reads `training` or has states. Same inputs and params as forward.
  std::optional<Graph> trainForward;
  std::optional<TrainConfig> train;
  // results: the loss, one gradient per trained param in param order, then the states' next values (empty if
  // !train)
  Graph trainStep;

  // The graph autodiff differentiates: the train-mode one.
  const Graph& trainingGraph() const { return trainForward ? *trainForward : forward; }
};

}  // namespace sinter::ir
