// Runs the runtime's optimizers on gradients given as JSON and prints the params after every step, for
// torch_optim_parity.py, which runs torch.optim on the same numbers. stdin:
//   {"config": {<sinter_train_config field>: value, ...}, "params": [[...], ...],
//    "grads": [[[...], ...] per step], "lr": [per-step learning rate] (optional), "clip_norm": x (optional),
//    "groups": [{"params": [param index, ...], "config": {<field>: value, ...}}, ...] (optional: param groups,
//    each config the train config with the group's overrides)}
// stdout: {"params": [[[...], ...] per step], "norms": [global gradient norm per step, when clipping]}
#include "runtime/lr_schedule.h"
#include "runtime/optimizer.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace {

// The fields of `k` over those of `c`.
sinter_train_config readConfig(const nlohmann::json& k, sinter_train_config c) {
  auto f = [&](const char* key, auto& field) {
    if (k.contains(key)) field = k[key].get<std::remove_reference_t<decltype(field)>>();
  };
  f("optimizer", c.optimizer), f("nesterov", c.nesterov), f("lr", c.lr), f("momentum", c.momentum);
  f("beta1", c.beta1), f("beta2", c.beta2), f("eps", c.eps), f("weight_decay", c.weight_decay);
  f("amsgrad", c.amsgrad), f("centered", c.centered), f("dampening", c.dampening), f("alpha", c.alpha);
  f("lr_decay", c.lr_decay), f("initial_accumulator", c.initial_accumulator);
  f("schedule", c.schedule), f("gamma", c.gamma), f("min_lr", c.min_lr), f("step_size", c.step_size);
  f("warmup_steps", c.warmup_steps);
  f("sched_per_epoch", c.sched_per_epoch), f("start_factor", c.start_factor), f("end_factor", c.end_factor);
  f("pct_start", c.pct_start), f("div_factor", c.div_factor), f("final_div_factor", c.final_div_factor);
  f("total_iters", c.total_iters);
  return c;
}

}  // namespace

int main() {
  const nlohmann::json in = nlohmann::json::parse(std::cin);
  const sinter_train_config c = readConfig(in["config"], sinter_train_config{});
  std::vector<sinter::rt::ParamGroup> groups;
  for (const nlohmann::json& g : in.value("groups", nlohmann::json::array())) {
    const sinter_train_config gc = readConfig(g["config"], c);
    groups.push_back({gc, g["params"].get<std::vector<int32_t>>(), static_cast<double>(gc.lr) / c.lr});
  }

  std::vector<std::vector<float>> params = in["params"].get<std::vector<std::vector<float>>>();
  std::vector<int64_t> sizes;
  std::vector<float*> ptrs;
  for (auto& p : params) sizes.push_back(static_cast<int64_t>(p.size())), ptrs.push_back(p.data());
  auto opt = sinter::rt::Optimizer::create(c, sizes, SINTER_F32, groups);
  nlohmann::json out = {
      {"params", nlohmann::json::array()}, {"norms", nlohmann::json::array()}, {"lrs", nlohmann::json::array()}};
  const auto grads = in["grads"].get<std::vector<std::vector<std::vector<float>>>>();
  const int64_t total = in.value("total_steps", static_cast<int64_t>(grads.size()));
  const int64_t perEpoch = in.value("steps_per_epoch", int64_t{1});
  for (size_t s = 0; s < grads.size(); ++s) {
    std::vector<std::vector<float>> g = grads[s];
    std::vector<float*> gp;
    std::vector<void*> clipped;
    for (auto& x : g) gp.push_back(x.data()), clipped.push_back(x.data());
    if (in.contains("clip_norm"))
      out["norms"].push_back(sinter::rt::clipGradNorm(clipped.data(), sizes, SINTER_F32, in["clip_norm"]));
    const sinter::rt::RunLength run{total, (total + perEpoch - 1) / perEpoch};
    const auto step = static_cast<int64_t>(s);
    const double lr = sinter::rt::scheduledLr(c, c.lr, step, step / perEpoch, run);
    out["lrs"].push_back(lr);
    opt->setLrs([&](double ratio) { return sinter::rt::scheduledLr(c, c.lr * ratio, step, step / perEpoch, run); });
    std::vector<const float*> cg(gp.begin(), gp.end());
    opt->step(ptrs.data(), cg.data());
    out["params"].push_back(params);
  }
  std::cout << out.dump() << "\n";
}
