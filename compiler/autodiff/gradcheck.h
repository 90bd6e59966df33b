// Gradient checking: autodiff's gradients against central finite differences, both in f64 on the
// reference interpreter, so that the check is independent of code generation.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "compiler/ir/interpreter.h"

namespace sinter::autodiff {

struct GradCheckRow {
  std::string param;
  std::int64_t checked = 0;  // elements compared
  double maxAbsError = 0;
  double maxRelError = 0;
  bool ok = true;
};

// Compares d(loss)/d(param) from buildTrainStep(forward, lossName) with (L(p+h) - L(p-h)) / 2h for up to
// `maxPerParam` elements of every param (spread evenly). An element passes when its absolute or its
// relative error is within `tolerance` (the smaller of the two counts, as in Glow's check).
std::vector<GradCheckRow> gradCheck(const ir::Graph& forward, const std::string& lossName,
                                    const std::map<std::string, ir::Tensor>& args, std::int64_t maxPerParam = 64,
                                    double h = 1e-6, double tolerance = 1e-5, const std::string& onlyParam = "");

// Random arguments for a graph, with symbolic dimensions bound to `batch`: float inputs N(0, scale²);
// params drawn as their initializers draw them; integer inputs uniform in the range their use admits
// (classes of a cross_entropy, rows of a gather).
std::map<std::string, ir::Tensor> randomArguments(const ir::Graph& g, std::int64_t batch, std::uint64_t seed,
                                                  double scale = 0.5);

}  // namespace sinter::autodiff
