#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>

#include "frontend/args.h"
#include "frontend/builtins.h"
#include "frontend/suggest.h"
#include "frontend/train_checker.h"
#include "frontend/train_groups.h"
#include "runtime/driver_options.h"

namespace sinter::frontend {
namespace {

class TrainChecker {
 public:
  TrainChecker(const ast::TrainBlock& t, const ast::Model& m, const Scope& scope,
               const std::vector<std::string>* params, Reporter& r)
      : t_(t), m_(m), scope_(scope), params_(params), r_(r) {}

  std::optional<ir::TrainConfig> run() {
    checkModelName();
    const ast::Setting* first[ast::Setting::kNumKinds] = {};
    for (const ast::Setting& s : t_.settings) {
      if (s.kind == ast::Setting::Group) continue;  // a block may have many; checkParamGroups checks them
      const ast::Setting*& seen = first[s.kind];
      if (seen) {
        r_.error(s.keyRange, fmt::format("'{}' is set twice", ast::settingName(s.kind)));
        r_.note(seen->keyRange, "first set here");
        continue;
      }
      seen = &s;
    }
    // The optimizer first: choosing sgd changes the default learning rate.
    if (const ast::Setting* s = first[ast::Setting::Optimizer]; s && !s->broken) optimizer(s->optimizer);
    for (const ast::Setting* s : first) {
      if (!s || s->broken) continue;
      switch (s->kind) {
        case ast::Setting::Minimize: minimize(*s); break;
        case ast::Setting::Optimizer: break;
        case ast::Setting::Schedule: schedule(s->optimizer); break;
        case ast::Setting::ClipNorm: cfg_.clipNorm = clipNorm(*s).value_or(cfg_.clipNorm); break;
        case ast::Setting::Batch: cfg_.batch = positiveInt(*s).value_or(cfg_.batch); break;
        case ast::Setting::Epochs: cfg_.epochs = positiveInt(*s).value_or(cfg_.epochs); break;
        case ast::Setting::Seed: cfg_.seed = seed(*s).value_or(cfg_.seed); break;
        case ast::Setting::Metrics: metrics(*s); break;
        case ast::Setting::Group: break;
        case ast::Setting::Data: data(*s); break;
      }
    }
    // After every other setting: a group starts from the optimizer's values. A broken optimizer line leaves
    // the groups' settings unchecked ("" names no optimizer) rather than checked against adam's.
    const ast::Setting* opt = first[ast::Setting::Optimizer];
    checkParamGroups(t_,
                     !opt          ? std::string_view("adam")
                     : opt->broken ? std::string_view()
                                   : opt->optimizer.name,
                     params_, cfg_, r_);
    if (!first[ast::Setting::Minimize] && !t_.broken)
      r_.error(t_.keywordRange, "train block has no 'minimize' setting; add 'minimize <value>' naming the loss",
               {t_.modelRange});
    return cfg_;
  }

 private:
  void checkModelName() {
    if (t_.model.empty() || m_.name.empty() || t_.model == m_.name) return;
    std::string hint = didYouMean(t_.model, {m_.name});
    r_.error(t_.modelRange, fmt::format("train block names unknown model {}{}", quoted(t_.model), hint));
    if (hint.empty()) r_.note(m_.nameRange, fmt::format("the model in this file is {}", quoted(m_.name)));
  }

  void minimize(const ast::Setting& s) {
    const Symbol* sym = scope_.find(s.value);
    if (!sym) {
      r_.error(s.valueRange, fmt::format("'minimize' names unknown value {}{}", quoted(s.value),
                                         didYouMean(s.value, scope_.names())));
      return;
    }
    cfg_.loss = s.value;
    if (!sym->type) return;  // its error is already reported
    if (!sym->type->shape.empty() || !ir::isFloat(sym->type->dtype)) {
      r_.error(s.valueRange, fmt::format("the loss must be a floating-point scalar (f32[] or f64[]), but {} is {}",
                                         quoted(s.value), sym->type->str()));
      r_.note(sym->decl->nameRange, fmt::format("{} declared here", quoted(s.value)));
    }
  }

  void optimizer(const ast::CallExpr& call) {
    const OptimizerSpec* spec = findOptimizer(call.name);
    if (!spec) {
      std::string hint = didYouMean(call.name, namesOf(optimizers()));
      if (hint.empty()) hint = "; the optimizers are " + listNames(namesOf(optimizers()), "and");
      r_.error(call.nameRange, fmt::format("unknown optimizer {}{}", quoted(call.name), hint));
      return;
    }
    cfg_.optimizer = spec->kind;
    bind("optimizer", spec->name, spec->params, call);
    if (cfg_.nesterov && !(cfg_.momentum > 0 && cfg_.dampening == 0))
      r_.error(call.range, "nesterov momentum needs a positive 'momentum' and zero 'dampening'");
  }

  void schedule(const ast::CallExpr& call) {
    const ScheduleSpec* spec = findSchedule(call.name);
    if (!spec) {
      std::string hint = didYouMean(call.name, namesOf(schedules()));
      if (hint.empty()) hint = "; the schedules are " + listNames(namesOf(schedules()), "and");
      r_.error(call.nameRange, fmt::format("unknown schedule {}{}", quoted(call.name), hint));
      return;
    }
    cfg_.schedule = spec->kind;
    bind("schedule", spec->name, spec->params, call);
  }

  // Binds a call's arguments to an optimizer's or schedule's hyper-parameters and stores their values
  // (or the defaults) in cfg_.
  void bind(std::string_view what, std::string_view name, const std::vector<HyperParam>& hyper,
            const ast::CallExpr& call) {
    std::vector<ParamSpec> params;
    for (const HyperParam& h : hyper) params.push_back({h.name, h.fallback});
    const Callee callee{what, name, call.nameRange, call.range};
    auto bound = bindArgs(callee, params, call.args, r_);
    for (std::size_t i = 0; i < hyper.size(); ++i) {
      const HyperParam& h = hyper[i];
      const ast::Arg* a = bound ? (*bound)[i] : nullptr;
      std::optional<double> v = a ? hyperValue(h, *a, r_) : std::optional<double>(h.fallback);
      if (v) setHyper(cfg_, h, *v);
    }
  }

  // data: defaults of the training driver's data flags, spelled with '_' (train_csv for --train-csv). One
  // table, the driver's, says which flags name or prepare the data and what values they take.
  void data(const ast::Setting& s) {
    std::vector<std::string> keys;
    for (const rt::DataFlag& f : rt::dataFlags())
      if (f.source && !f.value.empty()) keys.push_back(settingKey(f.name));
    std::map<std::string, Range> seen;
    rt::DriverOptions scratch;
    for (const ast::Setting::Field& f : s.fields) {
      std::string flag = "--" + f.key;
      std::replace(flag.begin(), flag.end(), '_', '-');
      const rt::DataFlag* d = rt::findDataFlag(flag);
      if (!d || !d->source || d->value.empty() || f.key.find('-') != std::string::npos) {
        const std::vector<std::string_view> known(keys.begin(), keys.end());
        std::string hint = didYouMean(f.key, known);
        if (hint.empty()) hint = "; the data settings are " + listNames(known, "and");
        r_.error(f.keyRange, fmt::format("unknown data setting {}{}", quoted(f.key), hint));
        continue;
      }
      if (auto [it, fresh] = seen.emplace(f.key, f.keyRange); !fresh && !d->repeatable) {
        r_.error(f.keyRange, fmt::format("data setting {} is set twice", quoted(f.key)));
        r_.note(it->second, "first set here");
        continue;
      }
      if (const std::string expected = rt::setDataFlag(scratch, flag, f.value); !expected.empty()) {
        r_.error(f.valueRange, fmt::format("invalid value {} for data setting {}: expected {}", quoted(f.value),
                                           quoted(f.key), expected));
        continue;
      }
      cfg_.dataFlags.push_back(flag + "=" + f.value);
    }
  }

  static std::string settingKey(const std::string& flag) {
    std::string key = flag.substr(2);
    std::replace(key.begin(), key.end(), '-', '_');
    return key;
  }

  // metrics: names from the metrics table, each at most once. The loss is reported whether or not it is
  // listed (as in Keras), so `metrics []` and `metrics [loss]` both mean the loss alone.
  void metrics(const ast::Setting& s) {
    std::uint32_t bits = ir::TrainConfig::MetricLoss;
    std::vector<const ast::Setting::Name*> listed;  // the known names so far
    for (const ast::Setting::Name& n : s.names) {
      const MetricSpec* spec = findMetric(n.name);
      if (!spec) {
        const std::vector<std::string_view> known = namesOf(frontend::metrics());
        std::string hint = didYouMean(n.name, known);
        if (hint.empty()) hint = "; the metrics are " + listNames(known, "and");
        r_.error(n.range, fmt::format("unknown metric {}{}", quoted(n.name), hint));
        continue;
      }
      const auto first = std::find_if(listed.begin(), listed.end(), [&](const auto* m) { return m->name == n.name; });
      if (first != listed.end()) {
        r_.error(n.range, fmt::format("metric {} is listed twice", quoted(n.name)));
        r_.note((*first)->range, "first listed here");
        continue;
      }
      listed.push_back(&n);
      bits |= spec->bit;
    }
    cfg_.metrics = bits;
  }

  // clip_norm: a positive finite number, the largest global L2 norm of the gradients.
  std::optional<double> clipNorm(const ast::Setting& s) {
    double v = 0;
    const char* last = s.value.data() + s.value.size();
    const auto [ptr, ec] = std::from_chars(s.value.data(), last, v);
    if (ec != std::errc{} || ptr != last || !std::isfinite(v)) {
      r_.error(s.valueRange, fmt::format("'clip_norm' must be a finite number, got {}", s.value));
      return std::nullopt;
    }
    if (!(v > 0)) {
      r_.error(s.valueRange, fmt::format("'clip_norm' must be positive, got {}", s.value));
      return std::nullopt;
    }
    return v;
  }

  // batch and epochs: integers >= 1.
  std::optional<std::int64_t> positiveInt(const ast::Setting& s) {
    const std::string_view key = ast::settingName(s.kind);
    std::int64_t v = 0;
    const char* last = s.value.data() + s.value.size();
    const auto [ptr, ec] = std::from_chars(s.value.data(), last, v);
    if (ec == std::errc::result_out_of_range && s.value[0] != '-') {
      r_.error(s.valueRange, fmt::format("'{}' value {} is too large", key, s.value));
      return std::nullopt;
    }
    if (ec == std::errc::result_out_of_range || (ec == std::errc{} && ptr == last && v <= 0)) {
      r_.error(s.valueRange, fmt::format("'{}' must be a positive integer, got {}", key, s.value));
      return std::nullopt;
    }
    if (ec != std::errc{} || ptr != last) {
      r_.error(s.valueRange, fmt::format("'{}' must be an integer, got {}", key, s.value));
      return std::nullopt;
    }
    return v;
  }

  std::optional<std::uint64_t> seed(const ast::Setting& s) {
    std::uint64_t v = 0;
    const char* last = s.value.data() + s.value.size();
    if (s.value[0] == '-') {
      r_.error(s.valueRange, fmt::format("'seed' must not be negative, got {}", s.value));
      return std::nullopt;
    }
    const auto [ptr, ec] = std::from_chars(s.value.data(), last, v);
    if (ec == std::errc::result_out_of_range) {
      r_.error(s.valueRange, fmt::format("'seed' value {} is too large (the limit is 2^64 - 1)", s.value));
      return std::nullopt;
    }
    if (ec != std::errc{} || ptr != last) {
      r_.error(s.valueRange, fmt::format("'seed' must be an integer, got {}", s.value));
      return std::nullopt;
    }
    return v;
  }

  const ast::TrainBlock& t_;
  const ast::Model& m_;
  const Scope& scope_;
  const std::vector<std::string>* params_;
  Reporter& r_;
  ir::TrainConfig cfg_;
};

}  // namespace

std::optional<double> hyperValue(const HyperParam& h, const ast::Arg& a, Reporter& r) {
  const ast::Expr& v = *a.value;
  if (h.bound == HyperParam::Bool) {
    if (v.kind == ast::Expr::Name && (v.text == "true" || v.text == "false")) return v.text == "true" ? 1.0 : 0.0;
    if (v.kind == ast::Expr::Number && (v.number == 0 || v.number == 1)) return v.number;
    r.error(v.range, fmt::format("'{}' must be true or false", h.name));
    return std::nullopt;
  }
  if (v.kind != ast::Expr::Number) {
    r.error(v.range, fmt::format("'{}' must be a number", h.name));
    return std::nullopt;
  }
  const double x = v.number;
  const char* problem = nullptr;
  switch (h.bound) {
    case HyperParam::Positive: problem = x > 0 ? nullptr : "must be positive"; break;
    case HyperParam::NonNegative: problem = x >= 0 ? nullptr : "must not be negative"; break;
    case HyperParam::Fraction: problem = x >= 0 && x < 1 ? nullptr : "must be in [0, 1)"; break;
    case HyperParam::OpenFraction: problem = x > 0 && x < 1 ? nullptr : "must be in (0, 1)"; break;
    case HyperParam::UnitInterval: problem = x >= 0 && x <= 1 ? nullptr : "must be in [0, 1]"; break;
    case HyperParam::PositiveInt:
      problem = x >= 1 && x == std::floor(x) && x < 9.2e18 ? nullptr : "must be a positive integer";
      break;
    case HyperParam::NonNegativeInt:
      problem = x >= 0 && x == std::floor(x) && x < 9.2e18 ? nullptr : "must be a non-negative integer";
      break;
    case HyperParam::Bool: break;
  }
  if (!problem) return x;
  r.error(v.range, fmt::format("'{}' {}, got {}", h.name, problem, v.text));
  return std::nullopt;
}

void setHyper(ir::TrainConfig& c, const HyperParam& h, double v) {
  if (auto* d = std::get_if<double ir::TrainConfig::*>(&h.field)) c.*(*d) = v;
  else if (auto* n = std::get_if<std::int64_t ir::TrainConfig::*>(&h.field)) c.*(*n) = static_cast<std::int64_t>(v);
  else c.*std::get<bool ir::TrainConfig::*>(h.field) = v != 0;
}

std::optional<ir::TrainConfig> checkTrain(const ast::TrainBlock& t, const ast::Model& m, const Scope& scope,
                                          const std::vector<std::string>* params, Reporter& r) {
  return TrainChecker(t, m, scope, params, r).run();
}

}  // namespace sinter::frontend
