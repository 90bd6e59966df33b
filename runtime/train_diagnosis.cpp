#include "runtime/train_diagnosis.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace sinter::rt {
namespace {

std::string str(const char* s) { return s ? s : ""; }

std::string report(const std::string& what, const sinter_tensor_desc& t, const void* p, int64_t n) {
  const int64_t k = firstNonFinite(p, t.dtype, n);
  if (k < 0) return "";
  return what + " '" + str(t.name) + "' holds " + valueName(floatAt(p, t.dtype, k)) + " (element " + std::to_string(k) +
         ")";
}

}  // namespace

int64_t firstNonFinite(const void* p, int32_t dtype, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(floatAt(p, dtype, i))) return i;
  return -1;
}

std::string valueName(double v) { return std::isnan(v) ? "NaN" : v > 0 ? "+inf" : "-inf"; }

std::string diagnoseNonFinite(const sinter_model_desc& m, const Layout& l, Buffers& b, int64_t bs) {
  const sinter_tensor_desc& x = m.inputs[l.imageInput];
  if (!l.integerSamples)  // token ids are integers, always finite
    if (auto s = report("input", x, b.images(l), elementCount(x, bs)); !s.empty()) return s;
  for (int32_t i = 0; i < m.num_params; ++i)
    if (auto s = report("param", m.params[i], b.paramPtrs[i], l.paramSizes[i]); !s.empty()) return s;
  const std::array<int64_t, 2> syms = {bs, 0};  // the batch, and no seed: forward draws nothing
  m.forward(b.forwardArgs.data(), syms.data());
  for (int32_t i = 0; i < m.num_outputs; ++i) {
    const sinter_tensor_desc& t = m.outputs[i];
    if (t.dtype != SINTER_F32 && t.dtype != SINTER_F64) continue;
    if (auto s = report(i == m.loss_output ? "loss" : "output", t, b.outputs[i].get(), elementCount(t, bs)); !s.empty())
      return s;
  }
  if (!std::isfinite(b.lossValue())) return "the loss is " + valueName(b.lossValue());
  for (int32_t i = 0; i < trainedCount(m); ++i)
    if (auto s = report("the gradient of param", m.params[i], b.gradPtrs[i], l.paramSizes[i]); !s.empty()) return s;
  return "a value inside the train step";
}

std::string nonFiniteParamText(const sinter_model_desc& m, const Layout& l, const Buffers& b, int32_t i) {
  const int64_t k = std::max<int64_t>(firstNonFinite(b.paramPtrs[i], l.dtype, l.paramSizes[i]), 0);
  return "param '" + str(m.params[i].name) + "' became " + valueName(floatAt(b.paramPtrs[i], l.dtype, k)) +
         " (element " + std::to_string(k) + ")";
}

std::string DivergenceWatch::observe(double loss) {
  if (!first_) {
    first_ = loss;
    return "";
  }
  const double limit = kFactor * std::max(std::fabs(*first_), kFloor);
  if (warned_ || !(loss > limit)) return "";
  warned_ = true;
  char text[256];
  std::snprintf(text, sizeof text,
                "the loss %.4g is more than %.0f times the first step's %.4g: training is diverging (try a lower "
                "--lr); it goes on while the loss stays finite",
                loss, kFactor, *first_);
  return text;
}

}  // namespace sinter::rt
