#include "runtime/metrics.h"

#include "runtime/model_layout.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sinter::rt {

const std::vector<MetricName>& metricNames() {
  static const std::vector<MetricName> table = {
      {SINTER_METRIC_LOSS, "loss", "loss", false},
      {SINTER_METRIC_ACCURACY, "accuracy", "acc", true},
      {SINTER_METRIC_TOP_K, "top_k_accuracy", "top_k", true},
      {SINTER_METRIC_MAE, "mae", "mae", false},
      {SINTER_METRIC_RMSE, "rmse", "rmse", false},
      {SINTER_METRIC_R2, "r2", "r2", false},
      {SINTER_METRIC_PERPLEXITY, "perplexity", "ppl", false},
      {SINTER_METRIC_GRAD_NORM, "grad_norm", "grad_norm", false},
  };
  return table;
}

const MetricName* findMetricName(std::string_view name) {
  for (const MetricName& n : metricNames())
    if (name == n.name) return &n;
  return nullptr;
}

std::string metricNameList() {
  std::string s;
  for (const MetricName& n : metricNames()) s += (s.empty() ? "" : ", ") + std::string(n.name);
  return s;
}

int32_t declaredMetrics(const sinter_model_desc& m) {
  if (m.train.metrics != 0) return m.train.metrics | SINTER_METRIC_LOSS;
  int32_t sequences = 0;  // i32 [batch, n, ...] inputs: token ids, then per-step labels
  for (int32_t i = 0; i < m.num_inputs; ++i) {
    const sinter_tensor_desc& t = m.inputs[i];
    if (isLabelsTensor(t)) return SINTER_METRIC_LOSS | SINTER_METRIC_ACCURACY;
    sequences += t.dtype == SINTER_I32 && t.rank >= 2 && t.dims[0] < 0;
  }
  if (sequences >= 2) return SINTER_METRIC_LOSS | SINTER_METRIC_ACCURACY | SINTER_METRIC_PERPLEXITY;
  return SINTER_METRIC_LOSS | kValueMetrics;
}

bool isLabelsTensor(const sinter_tensor_desc& t) { return t.dtype == SINTER_I32 && t.rank == 1 && t.dims[0] < 0; }

bool isPredictionTensor(const sinter_tensor_desc& t, int32_t dtype) {
  return t.dtype == dtype && t.rank == 2 && t.dims[0] < 0 && t.dims[1] > 0;
}

AccuracyTensors findAccuracyTensors(const sinter_model_desc& m) {
  AccuracyTensors a;
  if (m.loss_output < 0 || m.loss_output >= m.num_outputs) return a;
  for (int32_t i = 0; i < m.num_inputs && a.labelInput < 0; ++i)
    if (isLabelsTensor(m.inputs[i])) a.labelInput = i;
  const int32_t dtype = m.outputs[m.loss_output].dtype;
  for (int32_t i = 0; i < m.num_outputs && a.predOutput < 0; ++i)
    if (i != m.loss_output && isPredictionTensor(m.outputs[i], dtype))
      a.predOutput = i, a.classes = m.outputs[i].dims[1];
  return a;
}

int64_t correctPredictions(const sinter_model_desc& m, const AccuracyTensors& a, const void* const* forwardArgs,
                           int64_t batch) {
  const auto* labels = static_cast<const int32_t*>(forwardArgs[a.labelInput]);
  const void* pred = forwardArgs[m.num_inputs + m.num_params + a.predOutput];
  const int32_t dtype = m.outputs[a.predOutput].dtype;
  int64_t correct = 0;
  for (int64_t i = 0; i < batch * a.width; ++i) {
    int64_t best = 0;
    for (int64_t c = 1; c < a.classes; ++c)
      if (floatAt(pred, dtype, i * a.classes + c) > floatAt(pred, dtype, i * a.classes + best)) best = c;
    correct += best == labels[i];
  }
  return correct;
}

BatchMetrics evaluateBatch(const sinter_model_desc& m, const AccuracyTensors* accuracy, void* const* forwardArgs,
                           int64_t batch) {
  // sym_dims: the batch for every symbol, then the seed slot, which forward never draws from.
  std::vector<int64_t> syms(static_cast<size_t>(m.num_syms) + 1, batch);
  syms.back() = 0;
  m.forward(forwardArgs, syms.data());
  BatchMetrics r;
  r.loss = floatAt(forwardArgs[m.num_inputs + m.num_params + m.loss_output], m.outputs[m.loss_output].dtype, 0);
  if (accuracy) r.correct = correctPredictions(m, *accuracy, forwardArgs, batch);
  return r;
}

double SplitMetrics::value(int32_t bit) const {
  switch (bit) {
    case SINTER_METRIC_LOSS: return loss;
    case SINTER_METRIC_ACCURACY: return accuracy;
    case SINTER_METRIC_TOP_K: return topK;
    case SINTER_METRIC_MAE: return mae;
    case SINTER_METRIC_RMSE: return rmse;
    case SINTER_METRIC_R2: return r2;
    case SINTER_METRIC_PERPLEXITY: return perplexity;
    default: return std::nan("");
  }
}

void MetricSums::addLoss(double loss, int64_t count) {
  lossSum_ += loss * static_cast<double>(count);
  n_ += count;
}

void MetricSums::addClasses(const int32_t* labels, const void* pred, int32_t dtype, int64_t classes, int64_t count,
                            int64_t k) {
  for (int64_t i = 0; i < count; ++i) {
    const int64_t row = i * classes;
    int64_t best = 0, above = 0;  // the first largest element; the elements above the label's
    const double target = floatAt(pred, dtype, row + labels[i]);
    for (int64_t c = 0; c < classes; ++c) {
      const double v = floatAt(pred, dtype, row + c);
      if (v > floatAt(pred, dtype, row + best)) best = c;
      above += v > target;
    }
    correct_ += best == labels[i];
    topK_ += above < k;
  }
  rows_ += count;
}

void MetricSums::addValues(const void* target, const void* pred, int32_t dtype, int64_t count) {
  const auto width = static_cast<int64_t>(ySum_.size());
  for (int64_t i = 0; i < count * width; ++i) {
    const double y = floatAt(target, dtype, i), e = y - floatAt(pred, dtype, i);
    const auto c = static_cast<size_t>(i % width);
    absSum_ += std::fabs(e);
    sqSum_ += e * e;
    ySum_[c] += y;
    y2Sum_[c] += y * y;
    resSum_[c] += e * e;
  }
}

SplitMetrics MetricSums::result() const {
  SplitMetrics r;
  if (n_ == 0) return r;
  const auto n = static_cast<double>(n_);
  r.samples = n_;
  r.loss = lossSum_ / n;
  r.perplexity = std::exp(r.loss);
  r.correct = correct_;
  r.topKCorrect = topK_;
  r.labels = rows_;
  r.accuracy = rows_ ? static_cast<double>(correct_) / static_cast<double>(rows_) : 0.0;
  r.topK = rows_ ? static_cast<double>(topK_) / static_cast<double>(rows_) : 0.0;
  const double values = n * static_cast<double>(ySum_.size());
  r.mae = absSum_ / values;
  r.rmse = std::sqrt(sqSum_ / values);
  // sklearn's r2_score: a column with constant targets scores 1 when predicted exactly, else 0.
  double r2 = 0;
  for (size_t c = 0; c < ySum_.size(); ++c) {
    const double total = y2Sum_[c] - ySum_[c] * ySum_[c] / n;
    r2 += total > 0 ? 1 - resSum_[c] / total : (resSum_[c] == 0 ? 1.0 : 0.0);
  }
  r.r2 = r2 / static_cast<double>(ySum_.size());
  return r;
}

std::vector<double> MetricSums::packed() const {
  std::vector<double> s = {static_cast<double>(n_),
                           static_cast<double>(rows_),
                           lossSum_,
                           static_cast<double>(correct_),
                           static_cast<double>(topK_),
                           absSum_,
                           sqSum_};
  for (const std::vector<double>* v : {&ySum_, &y2Sum_, &resSum_}) s.insert(s.end(), v->begin(), v->end());
  return s;
}

void MetricSums::unpack(const std::vector<double>& s) {
  n_ = static_cast<int64_t>(s[0]);
  rows_ = static_cast<int64_t>(s[1]);
  lossSum_ = s[2];
  correct_ = static_cast<int64_t>(s[3]);
  topK_ = static_cast<int64_t>(s[4]);
  absSum_ = s[5];
  sqSum_ = s[6];
  size_t at = 7;
  for (std::vector<double>* v : {&ySum_, &y2Sum_, &resSum_})
    for (double& x : *v) x = s[at++];
}

}  // namespace sinter::rt
