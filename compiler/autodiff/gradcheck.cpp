#include "compiler/autodiff/gradcheck.h"

#include <algorithm>
#include <cmath>

#include "compiler/autodiff/autodiff.h"

namespace sinter::autodiff {

std::vector<GradCheckRow> gradCheck(const ir::Graph& forward, const std::string& lossName,
                                    const std::map<std::string, ir::Tensor>& args, std::int64_t maxPerParam,
                                    double h, double tolerance) {
  const ir::Graph step = buildTrainStep(forward, lossName);
  const std::vector<ir::Tensor> analytic = ir::interpret(step, args);  // loss, then one grad per param
  const ir::NodeId lossNode = forward.findResult(lossName)->node;
  auto lossAt = [&](const std::map<std::string, ir::Tensor>& a) {
    return ir::interpretAll(forward, a)[static_cast<std::size_t>(lossNode)].data[0];
  };

  std::vector<GradCheckRow> rows;
  std::map<std::string, ir::Tensor> work = args;
  for (std::size_t p = 0; p < forward.params.size(); ++p) {
    GradCheckRow row;
    row.param = forward.node(forward.params[p]).name;
    ir::Tensor& value = work.at(row.param);
    const ir::Tensor& grad = analytic[p + 1];
    const std::int64_t n = value.numel();
    const std::int64_t stride = std::max<std::int64_t>(1, n / std::max<std::int64_t>(1, maxPerParam));
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

}  // namespace sinter::autodiff
