// torch.optim runs its update per group with that group's hyper-parameters and one step count; so does
// this: a part per group (the first holds the params in no group), each a plain optimizer over its own
// params, and every part steps once per step. The update of a param depends on its own group alone, so
// the results are those of one optimizer whose hyper-parameters differ per param.
#include "runtime/grouped_optimizer.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <string>

namespace sinter::rt {
namespace {

class GroupedOptimizer final : public Optimizer {
 public:
  GroupedOptimizer(const sinter_train_config& config, std::vector<int64_t> sizes, int32_t dtype,
                   std::vector<ParamGroup> groups)
      : Optimizer(config.lr, std::move(sizes), dtype) {
    std::vector<int32_t> partOf(sizes_.size(), 0);
    for (size_t g = 0; g < groups.size(); ++g)
      for (int32_t p : groups[g].params) {
        if (p < 0 || static_cast<size_t>(p) >= sizes_.size())
          throw std::invalid_argument("optimizer: param group " + std::to_string(g) + " holds param " +
                                      std::to_string(p) + " of " + std::to_string(sizes_.size()));
        if (partOf[static_cast<size_t>(p)] != 0)
          throw std::invalid_argument("optimizer: param " + std::to_string(p) + " is in two param groups");
        partOf[static_cast<size_t>(p)] = static_cast<int32_t>(g + 1);
      }
    members_.resize(groups.size() + 1);
    for (size_t p = 0; p < sizes_.size(); ++p)
      members_[static_cast<size_t>(partOf[p])].push_back(static_cast<int32_t>(p));
    ratios_.push_back(1.0);
    for (const ParamGroup& g : groups) ratios_.push_back(g.lrRatio);
    for (size_t k = 0; k < members_.size(); ++k) {
      std::vector<int64_t> partSizes;
      for (int32_t p : members_[k]) partSizes.push_back(sizes_[static_cast<size_t>(p)]);
      parts_.push_back(Optimizer::create(k == 0 ? config : groups[k - 1].config, std::move(partSizes), dtype));
    }
  }

  using Optimizer::step;
  void step(void* const* params, const void* const* grads) override {
    beginStep();
    for (size_t k = 0; k < parts_.size(); ++k) {
      partParams_.clear();
      partGrads_.clear();
      for (int32_t p : members_[k]) {
        partParams_.push_back(params[p]);
        partGrads_.push_back(grads[p]);
      }
      parts_[k]->step(partParams_.data(), partGrads_.data());
    }
  }

  void setLrs(const std::function<double(double)>& rate) override {
    Optimizer::setLrs(rate);
    for (size_t k = 0; k < parts_.size(); ++k) parts_[k]->setLr(static_cast<float>(rate(ratios_[k])));
  }

  void setSteps(int64_t t) override {
    Optimizer::setSteps(t);
    for (auto& part : parts_) part->setSteps(t);
  }

  int32_t nonFiniteParam() const override {
    int32_t first = -1;
    for (size_t k = 0; k < parts_.size(); ++k)
      if (const int32_t i = parts_[k]->nonFiniteParam(); i >= 0) {
        const int32_t p = members_[k][static_cast<size_t>(i)];
        if (first < 0 || p < first) first = p;
      }
    return first;
  }

  // The parts' buffers under the model's param indices, in the order of an ungrouped optimizer: by kind
  // (in the order the optimizer names them), then param.
  std::vector<StateBuffer> state() override {
    std::vector<StateBuffer> out;
    std::map<std::string, size_t> kindRank;
    for (size_t k = 0; k < parts_.size(); ++k)
      for (StateBuffer b : parts_[k]->state()) {
        kindRank.emplace(b.name, kindRank.size());
        b.param = members_[k][static_cast<size_t>(b.param)];
        out.push_back(std::move(b));
      }
    std::stable_sort(out.begin(), out.end(), [&](const StateBuffer& a, const StateBuffer& b) {
      const size_t ra = kindRank.at(a.name), rb = kindRank.at(b.name);
      return ra != rb ? ra < rb : a.param < b.param;
    });
    return out;
  }

 private:
  std::vector<std::unique_ptr<Optimizer>> parts_;  // part 0: the params in no group; part k: group k - 1
  std::vector<std::vector<int32_t>> members_;      // the model's param indices of each part, ascending
  std::vector<double> ratios_;                     // each part's rate over the train config's
  std::vector<void*> partParams_;                  // scratch of step()
  std::vector<const void*> partGrads_;
};

}  // namespace

std::unique_ptr<Optimizer> createGrouped(const sinter_train_config& config, std::vector<int64_t> paramSizes,
                                         int32_t dtype, std::vector<ParamGroup> groups) {
  return std::make_unique<GroupedOptimizer>(config, std::move(paramSizes), dtype, std::move(groups));
}

std::vector<ParamGroup> paramGroupsOf(const sinter_model_desc& m) {
  std::vector<ParamGroup> groups;
  if (m.num_param_groups <= 0) return groups;
  const std::string model = "model '" + std::string(m.name ? m.name : "") + "'";
  if (!m.param_groups || !m.param_group)
    throw std::invalid_argument(model + ": malformed descriptor (param groups without their tables)");
  for (int32_t g = 0; g < m.num_param_groups; ++g) {
    const sinter_param_group& pg = m.param_groups[g];
    if (pg.config.optimizer != m.train.optimizer)
      throw std::invalid_argument(model + ": param group " + std::to_string(g) + " has another optimizer");
    if (!(m.train.lr > 0) && pg.config.lr != m.train.lr)
      throw std::invalid_argument(model + ": param group " + std::to_string(g) +
                                  " has a learning rate of its own where the train config's is 0");
    const double ratio = m.train.lr > 0 ? static_cast<double>(pg.config.lr) / static_cast<double>(m.train.lr) : 1.0;
    groups.push_back({pg.config, {}, ratio});
  }
  for (int32_t p = 0; p < m.num_params; ++p) {
    const int32_t g = m.param_group[p];
    if (g < -1 || g >= m.num_param_groups)
      throw std::invalid_argument(model + ": param " + std::to_string(p) + " is in param group " + std::to_string(g) +
                                  " of " + std::to_string(m.num_param_groups));
    // The last num_state params are states, which no optimizer updates.
    if (g >= 0 && p >= m.num_params - m.num_state)
      throw std::invalid_argument(model + ": state " + std::to_string(p) + " is in param group " + std::to_string(g));
    if (g >= 0) groups[static_cast<size_t>(g)].params.push_back(p);
  }
  return groups;
}

}  // namespace sinter::rt
