// The metrics shared by the training driver and sinter_evaluate (runtime/metrics.h), on hand-made
// descriptors and buffers.
#include <catch2/catch.hpp>

#include "runtime/metrics.h"

#include <cmath>
#include <vector>

namespace {

const int64_t kX[] = {-1, 4}, kY[] = {-1}, kProbs[] = {-1, 3}, kW[] = {4, 3};
const sinter_tensor_desc kInputs[] = {{"x", SINTER_F32, 2, kX, 0, 0, 0}, {"y", SINTER_I32, 1, kY, 0, 0, 0}};
const sinter_tensor_desc kParams[] = {{"w", SINTER_F32, 2, kW, 0, 0, 0}};
// The loss first: the prediction is found wherever it is.
const sinter_tensor_desc kOutputs[] = {{"loss", SINTER_F32, 0, nullptr, 0, 0, 0},
                                       {"probs", SINTER_F32, 2, kProbs, 0, 0, 0}};

sinter_model_desc model() {
  sinter_model_desc m{};
  m.abi_version = SINTER_ABI_VERSION;
  m.num_syms = 1;
  m.num_inputs = 2;
  m.num_params = 1;
  m.num_outputs = 2;
  m.loss_output = 0;
  m.inputs = kInputs;
  m.params = kParams;
  m.outputs = kOutputs;
  return m;
}

// forward: writes a fixed loss and fixed probabilities, whatever the inputs.
void fixedForward(void* const* buf, const int64_t* sym) {
  *static_cast<float*>(buf[3]) = 0.75f;
  const float probs[] = {0.1f, 0.8f, 0.1f, 0.5f, 0.5f, 0.0f, 0.2f, 0.3f, 0.5f, 0.9f, 0.05f, 0.05f};
  for (int64_t i = 0; i < sym[0] * 3; ++i) static_cast<float*>(buf[4])[i] = probs[i];
}

}  // namespace

using namespace sinter::rt;

TEST_CASE("metrics: the train block's list, 0 meaning loss and accuracy") {
  sinter_model_desc m = model();
  CHECK(declaredMetrics(m) == (SINTER_METRIC_LOSS | SINTER_METRIC_ACCURACY));
  m.train.metrics = SINTER_METRIC_LOSS;
  CHECK(declaredMetrics(m) == SINTER_METRIC_LOSS);
  m.train.metrics = SINTER_METRIC_ACCURACY;  // the loss is always reported
  CHECK(declaredMetrics(m) == (SINTER_METRIC_LOSS | SINTER_METRIC_ACCURACY));
}

TEST_CASE("metrics: accuracy reads the labels input and the prediction output") {
  sinter_model_desc m = model();
  AccuracyTensors a = findAccuracyTensors(m);
  CHECK(a.found());
  CHECK(a.labelInput == 1);
  CHECK(a.predOutput == 1);
  CHECK(a.classes == 3);
  m.num_inputs = 1;  // no labels
  CHECK_FALSE(findAccuracyTensors(m).found());
  m = model();
  m.loss_output = -1;  // no train block
  CHECK_FALSE(findAccuracyTensors(m).found());
  const sinter_tensor_desc f64Probs = {"probs", SINTER_F64, 2, kProbs, 0, 0, 0};
  CHECK_FALSE(isPredictionTensor(f64Probs, SINTER_F32));
  CHECK(isLabelsTensor(kInputs[1]));
  CHECK_FALSE(isLabelsTensor(kInputs[0]));
}

TEST_CASE("metrics: one batch's loss and correct predictions, the first maximum winning ties") {
  sinter_model_desc m = model();
  m.forward = fixedForward;
  // Rows predict 1, 0 (a tie of 0 and 1: the first), 2, 0.
  float x[16] = {}, w[12] = {}, loss = 0, probs[12] = {};
  int32_t y[4] = {1, 1, 2, 2};
  void* buffers[] = {x, y, w, &loss, probs};
  const AccuracyTensors a = findAccuracyTensors(m);
  const BatchMetrics r = evaluateBatch(m, &a, buffers, 4);
  CHECK(r.loss == 0.75);
  CHECK(r.correct == 2);
  CHECK(evaluateBatch(m, nullptr, buffers, 4).correct == 0);  // accuracy not asked for
  y[1] = 0;
  CHECK(correctPredictions(m, a, buffers, 4) == 3);
  CHECK(correctPredictions(m, a, buffers, 2) == 2);
}
