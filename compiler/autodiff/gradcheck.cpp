#include "compiler/autodiff/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "compiler/autodiff/autodiff.h"

namespace sinter::autodiff {

std::vector<GradCheckRow> gradCheck(const ir::Graph& forward, const std::string& lossName,
                                    const std::map<std::string, ir::Tensor>& args, std::int64_t maxPerParam, double h,
                                    double tolerance, const std::string& onlyParam) {
  const ir::Graph step = buildTrainStep(forward, lossName);
  // The loss, then one grad per trained param (states have none).
  const std::vector<ir::Tensor> analytic = ir::interpret(step, args);
  const ir::NodeId lossNode = forward.findResult(lossName)->node;
  auto lossAt = [&](const std::map<std::string, ir::Tensor>& a) {
    return ir::interpretAll(forward, a)[static_cast<std::size_t>(lossNode)].data[0];
  };

  std::vector<GradCheckRow> rows;
  std::map<std::string, ir::Tensor> work = args;
  const std::vector<ir::NodeId> trained = forward.trainedParams();
  for (std::size_t p = 0; p < trained.size(); ++p) {
    GradCheckRow row;
    row.param = forward.node(trained[p]).name;
    if (!onlyParam.empty() && row.param != onlyParam) continue;
    ir::Tensor& value = work.at(row.param);
    const ir::Tensor& grad = analytic[p + 1];
    const std::int64_t n = value.numel();
    const std::int64_t per = std::max<std::int64_t>(1, maxPerParam);
    const std::int64_t stride = (n + per - 1) / per;  // at most maxPerParam elements, spread evenly
    for (std::int64_t i = 0; i < n; i += stride) {
      const double saved = value.data[i];
      value.data[i] = saved + h;
      const double up = lossAt(work);
      value.data[i] = saved - h;
      const double down = lossAt(work);
      value.data[i] = saved;
      const double numeric = (up - down) / (2 * h);
      const double abs = std::fabs(numeric - grad.data[i]);
      const double rel = abs / std::max(std::fabs(numeric), std::fabs(grad.data[i]));
      row.maxAbsError = std::max(row.maxAbsError, abs);
      if (std::isfinite(rel)) row.maxRelError = std::max(row.maxRelError, rel);
      if (!(std::min(abs, std::isfinite(rel) ? rel : abs) <= tolerance)) row.ok = false;
      ++row.checked;
    }
    rows.push_back(row);
  }
  return rows;
}

namespace {

// fan_in and fan_out: weights [in, out] (rank 2), convolution filters [out, in, kh, kw] (rank 4).
std::pair<double, double> fans(const std::vector<std::int64_t>& s) {
  if (s.size() == 2) return {static_cast<double>(s[0]), static_cast<double>(s[1])};
  if (s.size() == 4) return {static_cast<double>(s[1] * s[2] * s[3]), static_cast<double>(s[0] * s[2] * s[3])};
  const double n = s.empty() ? 1.0 : static_cast<double>(s[0]);
  return {n, n};
}

// Values as the param's initializer draws them, so that the check runs where training starts (a recurrent
// net with N(0, 1) weights is chaotic, and finite differences mean nothing there). Constant initializers
// get a small perturbation, so that no element sits on a kink.
void fillLikeInitializer(ir::Tensor& t, const ir::Init& init, std::mt19937_64& rng) {
  const auto [fanIn, fanOut] = fans(t.shape);
  auto uniform = [&](double lo, double hi) {
    std::uniform_real_distribution<double> d(lo, hi);
    for (double& v : t.data) v = d(rng);
  };
  auto normal = [&](double mean, double sd) {
    std::normal_distribution<double> d(mean, sd);
    for (double& v : t.data) v = d(rng);
  };
  switch (init.kind) {
    case ir::Init::Zeros: return normal(0, 0.1);
    case ir::Init::Ones: return normal(1, 0.1);
    case ir::Init::Constant: return normal(init.a, 0.1);
    case ir::Init::Uniform: return uniform(init.a, init.b);
    case ir::Init::Normal: return normal(init.a, init.b);
    case ir::Init::GlorotUniform: {
      const double l = std::sqrt(6.0 / (fanIn + fanOut));
      return uniform(-l, l);
    }
    case ir::Init::HeNormal: return normal(0, std::sqrt(2.0 / fanIn));
    case ir::Init::LecunUniform: return uniform(-1 / std::sqrt(fanIn), 1 / std::sqrt(fanIn));
    case ir::Init::Data:  // the given values, perturbed as a constant is
      if (!init.data || init.data->size() != t.data.size()) return normal(0, 0.1);
      for (std::size_t i = 0; i < t.data.size(); ++i) t.data[i] = (*init.data)[i] + std::normal_distribution(0.0, 0.01)(rng);
      return;
  }
}

}  // namespace

std::map<std::string, ir::Tensor> randomArguments(const ir::Graph& g, std::int64_t batch, std::uint64_t seed,
                                                  double scale) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, scale);
  // The value range of each integer input, from the ops that read it.
  std::map<ir::NodeId, std::int64_t> range;
  for (const ir::Node& n : g.nodes) {
    if ((n.op == ir::Op::CrossEntropy || n.op == ir::Op::Gather) && n.operands.size() == 2) {
      const ir::Shape& s = g.node(n.operands[0]).type.shape;
      const ir::Dim& d = n.op == ir::Op::CrossEntropy ? s[1] : s[0];
      if (!d.isSymbolic()) range[n.operands[1]] = d.size;
    }
  }
  std::map<std::string, ir::Tensor> args;
  for (const auto* list : {&g.inputs, &g.params})
    for (ir::NodeId id : *list) {
      const ir::Node& n = g.node(id);
      std::vector<std::int64_t> shape;
      for (const ir::Dim& d : n.type.shape) shape.push_back(d.isSymbolic() ? batch : d.size);
      ir::Tensor t = ir::Tensor::zeros(shape);
      if (n.type.dtype == ir::DType::I32) {
        std::uniform_int_distribution<std::int64_t> pick(
            0, std::max<std::int64_t>(1, range.count(id) ? range[id] : 2) - 1);
        for (double& v : t.data) v = static_cast<double>(pick(rng));
      } else if (n.op == ir::Op::Param) {
        fillLikeInitializer(t, n.init, rng);
      } else {
        for (double& v : t.data) v = normal(rng);
      }
      args[n.name] = std::move(t);
    }
  return args;
}

}  // namespace sinter::autodiff
