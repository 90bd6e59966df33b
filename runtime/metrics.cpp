#include "runtime/metrics.h"

#include "runtime/model_layout.h"

#include <vector>

namespace sinter::rt {

int32_t declaredMetrics(const sinter_model_desc& m) {
  return m.train.metrics == 0 ? SINTER_METRIC_LOSS | SINTER_METRIC_ACCURACY : m.train.metrics | SINTER_METRIC_LOSS;
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
  for (int64_t i = 0; i < batch; ++i) {
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

}  // namespace sinter::rt
