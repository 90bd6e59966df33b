// The train block's metrics (model_abi.h, enum sinter_metric). One implementation serves the training
// driver, which sums them over a split batch by batch, and the C API's sinter_evaluate, which reports one
// batch, so that both agree on every bit.
#pragma once

#include <sinter/model_abi.h>

#include <cstdint>

namespace sinter::rt {

// The metrics the train block asks for, as bits of sinter_metric, the loss always among them. A mask of 0 in
// the descriptor (one written before the field existed) means loss and accuracy.
int32_t declaredMetrics(const sinter_model_desc& m);

// What accuracy compares: class labels, an i32 [batch] tensor, and predictions, a [batch, classes] tensor of
// the loss's floating dtype.
bool isLabelsTensor(const sinter_tensor_desc& t);
bool isPredictionTensor(const sinter_tensor_desc& t, int32_t dtype);

// Where accuracy reads: the first labels input and the first prediction output other than the loss.
struct AccuracyTensors {
  int32_t labelInput = -1, predOutput = -1;
  int64_t classes = 0;
  bool found() const { return labelInput >= 0 && predOutput >= 0; }
};

// The model's accuracy tensors; found() is false when it has no loss, no labels input or no prediction.
AccuracyTensors findAccuracyTensors(const sinter_model_desc& m);

// Samples of a batch predicted right: the largest element of the prediction row (the first of equal ones,
// as std::max_element) is the label. `forwardArgs` are the buffers of a forward call that has run
// (inputs..., params..., outputs...).
int64_t correctPredictions(const sinter_model_desc& m, const AccuracyTensors& a, const void* const* forwardArgs,
                           int64_t batch);

// The metrics of one batch: the loss output (the mean over the batch) and the samples predicted right.
struct BatchMetrics {
  double loss = 0;
  int64_t correct = 0;
};

// Runs forward on one batch, every symbolic dimension = batch (forwardArgs: inputs..., params..., outputs...,
// the outputs sized for the batch), and reads its metrics: the loss, and the correct predictions when
// `accuracy` is not NULL. The model must have a loss output.
BatchMetrics evaluateBatch(const sinter_model_desc& m, const AccuracyTensors* accuracy, void* const* forwardArgs,
                           int64_t batch);

}  // namespace sinter::rt
