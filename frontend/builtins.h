// What the language knows by name, one table per concept: initializers, optimizers, schedules, metrics (the
// built-in functions are in functions.h).
// The elaborator and check_train.cpp look names up here; docs/language.md lists the same entries.
#pragma once

#include <optional>
#include <string_view>
#include <variant>
#include <vector>

#include "compiler/ir/graph.h"
#include "compiler/ir/module.h"
#include "frontend/type_rules.h"

namespace sinter::frontend {

// A parameter of a function, initializer or optimizer. Without a default value it is required.
struct ParamSpec {
  std::string_view name;
  std::optional<double> fallback;
};

struct InitSpec {
  std::string_view name;
  ir::Init::Kind kind;
  std::vector<ParamSpec> params;  // their values become Init::a and Init::b in order
};

// A hyper-parameter of an optimizer or schedule: where it goes in the TrainConfig and which values make sense.
struct HyperParam {
  enum Bound {
    Positive,
    NonNegative,
    Fraction /* [0, 1) */,
    OpenFraction /* (0, 1) */,
    UnitInterval /* [0, 1] */,
    Bool,
    PositiveInt,
    NonNegativeInt
  };
  std::string_view name;
  std::variant<double ir::TrainConfig::*, bool ir::TrainConfig::*, std::int64_t ir::TrainConfig::*> field;
  Bound bound;
  double fallback;
};

struct OptimizerSpec {
  std::string_view name;
  ir::TrainConfig::Optimizer kind;
  std::vector<HyperParam> params;  // in positional order: lr first
};

struct ScheduleSpec {
  std::string_view name;
  ir::TrainConfig::Schedule kind;
  std::vector<HyperParam> params;
};

// A metric the training driver can report per epoch (the train block's `metrics [...]`).
struct MetricSpec {
  std::string_view name;
  ir::TrainConfig::Metric bit;
};

const std::vector<InitSpec>& initializers();
const std::vector<OptimizerSpec>& optimizers();
const std::vector<ScheduleSpec>& schedules();
const std::vector<MetricSpec>& metrics();

const InitSpec* findInitializer(std::string_view name);
const OptimizerSpec* findOptimizer(std::string_view name);
const ScheduleSpec* findSchedule(std::string_view name);
const MetricSpec* findMetric(std::string_view name);

// The names of a table's entries, for "did you mean" and "expected one of".
template <class Spec>
std::vector<std::string_view> namesOf(const std::vector<Spec>& table) {
  std::vector<std::string_view> out;
  for (const Spec& s : table) out.push_back(s.name);
  return out;
}

}  // namespace sinter::frontend
