// Param groups name their params by pattern, as practitioners pick torch.optim groups by name ("no decay
// for biases and norms"); a pattern that matches nothing and a param claimed twice are errors, because
// either silently trains with settings the user did not mean.
#include "frontend/train_groups.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "frontend/builtins.h"
#include "frontend/suggest.h"
#include "frontend/train_checker.h"

namespace sinter::frontend {

bool matchesPattern(std::string_view pattern, std::string_view name) {
  // Greedy wildcard matching with one backtrack point: the last '*' seen.
  std::size_t p = 0, n = 0, star = std::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == name[n])) {
      ++p;
      ++n;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

class GroupChecker {
 public:
  GroupChecker(std::string_view optimizer, const std::vector<std::string>* params, ir::TrainConfig& cfg, Reporter& r)
      : spec_(findOptimizer(optimizer)), params_(params), cfg_(cfg), r_(r) {}

  void group(const ast::Setting& s) {
    if (s.broken) return;
    if (const auto [it, fresh] = names_.emplace(s.value, &s); !fresh) {
      r_.error(s.valueRange, fmt::format("group {} is declared twice", quoted(s.value)));
      r_.note(it->second->valueRange, "first declared here");
      return;
    }
    ir::TrainConfig::Group g{s.value, {}, cfg_};
    g.config.groups.clear();
    const bool settingsOk = overrides(s, g.config);
    const bool paramsOk = members(s, g.params);
    if (settingsOk && paramsOk) cfg_.groups.push_back(std::move(g));
  }

 private:
  // The group's params from its patterns, in param order; false after an error.
  bool members(const ast::Setting& s, std::vector<std::string>& out) {
    if (s.names.empty()) {
      r_.error(s.optimizer.range, fmt::format("group {} lists no params; name them by pattern, as in "
                                              "'group {}(\"*.b\", weight_decay = 0)'",
                                              quoted(s.value), s.value));
      return false;
    }
    if (!params_) return true;  // the model has errors: its params are not all known
    bool ok = true;
    for (const ast::Setting::Name& pattern : s.names) {
      bool matched = false;
      for (const std::string& p : *params_) {
        if (!matchesPattern(pattern.name, p)) continue;
        matched = true;
        if (const auto [it, fresh] = owner_.emplace(p, Claim{s.value, pattern.range}); !fresh) {
          if (it->second.group == s.value) continue;  // two patterns of one group may overlap
          r_.error(pattern.range, fmt::format("param {} is already in group {}; a param can be in one group only",
                                              quoted(p), quoted(it->second.group)));
          r_.note(it->second.range, fmt::format("group {} takes it here", quoted(it->second.group)));
          ok = false;
          continue;
        }
        out.push_back(p);
      }
      if (!matched) {
        ok = false;
        std::vector<std::string_view> names(params_->begin(), params_->end());
        std::string hint = didYouMean(pattern.name, names);
        if (hint.empty()) hint = "; " + paramList();
        r_.error(pattern.range, fmt::format("pattern \"{}\" matches no param{} ('*' matches any characters, dots too)",
                                            pattern.name, hint));
      }
    }
    // In param order, as the optimizer sees them.
    std::sort(out.begin(), out.end(), [&](const std::string& a, const std::string& b) { return index(a) < index(b); });
    return ok;
  }

  // The group's settings over c; false after an error.
  bool overrides(const ast::Setting& s, ir::TrainConfig& c) {
    if (!spec_) return false;  // an unknown optimizer, already reported
    if (s.optimizer.args.empty()) {
      r_.error(s.optimizer.range, fmt::format("group {} changes no setting; give it one of the optimizer's, as "
                                              "in 'weight_decay = 0' or 'lr = 1e-4'",
                                              quoted(s.value)));
      return false;
    }
    bool ok = true;
    std::map<std::string, const ast::Arg*> seen;
    for (const ast::Arg& a : s.optimizer.args) {
      const auto h = std::find_if(spec_->params.begin(), spec_->params.end(),
                                  [&](const HyperParam& p) { return p.name == a.keyword; });
      if (h == spec_->params.end()) {
        const std::vector<std::string_view> known = namesOf(spec_->params);
        std::string hint = didYouMean(a.keyword, known);
        if (hint.empty()) hint = "; a group of " + std::string(spec_->name) + " can set " + listNames(known);
        r_.error(a.keywordRange,
                 fmt::format("optimizer {} has no setting {}{}", quoted(spec_->name), quoted(a.keyword), hint));
        ok = false;
        continue;
      }
      if (const auto [it, fresh] = seen.emplace(a.keyword, &a); !fresh) {
        r_.error(a.keywordRange, fmt::format("{} is set twice in group {}", quoted(a.keyword), quoted(s.value)));
        r_.note(it->second->keywordRange, "first set here");
        ok = false;
        continue;
      }
      // A group's rate may be 0: its params are frozen (as torch's param group with lr=0), the way to keep part
      // of a model, such as an imported ONNX backbone, as it is.
      HyperParam bound = *h;
      if (bound.name == "lr") bound.bound = HyperParam::NonNegative;
      if (const std::optional<double> v = hyperValue(bound, a, r_)) setHyper(c, *h, *v);
      else ok = false;
    }
    if (ok && c.nesterov && !(c.momentum > 0 && c.dampening == 0)) {
      r_.error(s.optimizer.range, "nesterov momentum needs a positive 'momentum' and zero 'dampening'");
      ok = false;
    }
    return ok;
  }

  std::size_t index(const std::string& name) const {
    return static_cast<std::size_t>(std::find(params_->begin(), params_->end(), name) - params_->begin());
  }

  // "the params are a, b and c" (the first few of a long list).
  std::string paramList() const {
    constexpr std::size_t kShown = 12;
    if (params_->empty()) return "the model has no params";
    if (params_->size() <= kShown)
      return "the params are " + listNames(std::vector<std::string_view>(params_->begin(), params_->end()), "and");
    std::string out = "the params are";
    for (std::size_t i = 0; i < kShown; ++i) out += " " + (*params_)[i] + ",";
    return out + fmt::format(" and {} more", params_->size() - kShown);
  }

  struct Claim {
    std::string group;
    Range range;  // the pattern that claimed the param
  };

  const OptimizerSpec* spec_;
  const std::vector<std::string>* params_;
  ir::TrainConfig& cfg_;
  Reporter& r_;
  std::map<std::string, const ast::Setting*> names_;
  std::map<std::string, Claim> owner_;
};

}  // namespace

void checkParamGroups(const ast::TrainBlock& t, std::string_view optimizer, const std::vector<std::string>* params,
                      ir::TrainConfig& cfg, Reporter& r) {
  GroupChecker c(optimizer, params, cfg, r);
  for (const ast::Setting& s : t.settings)
    if (s.kind == ast::Setting::Group) c.group(s);
}

}  // namespace sinter::frontend
