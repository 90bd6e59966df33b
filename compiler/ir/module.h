// A compiled model: its forward graph, its training step graph and the training configuration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "compiler/ir/graph.h"

namespace sinter::ir {

struct TrainConfig {
  enum Optimizer { SGD, Adam };
  std::string loss;  // name of the scalar value to minimize
  Optimizer optimizer = Adam;
  double lr = 1e-3;
  double momentum = 0;      // sgd
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam
  double weightDecay = 0;
  bool nesterov = false;
  std::int64_t batch = 32;
  std::int64_t epochs = 1;
  std::uint64_t seed = 0;
};

struct Module {
  std::string name;
  Graph forward;     // results: the model's outputs, then the loss (kind Loss) when training
  std::optional<TrainConfig> train;
  Graph trainStep;   // results: the loss, then one gradient per param in param order (empty if !train)
};

}  // namespace sinter::ir
