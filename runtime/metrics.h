// The train block's metrics (model_abi.h, enum sinter_metric). One implementation serves the training
// driver, which sums them over a split batch by batch, and the C API's sinter_evaluate, which reports one
// batch, so that both agree on every bit.
#pragma once

#include <sinter/model_abi.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sinter::rt {

// Every sinter_metric bit by the name train blocks, flags and reports use: `name` in a list and in the
// metrics file's keys (train_<name>), `column` in the line each epoch prints.
struct MetricName {
  int32_t bit;
  const char* name;
  const char* column;
  bool percent;  // printed as a percentage
};
const std::vector<MetricName>& metricNames();
const MetricName* findMetricName(std::string_view name);
// "loss, accuracy, ...": every name, for messages.
std::string metricNameList();

// The metrics that compare class labels with the prediction's largest elements, and those that compare
// floating targets with the prediction.
inline constexpr int32_t kClassMetrics = SINTER_METRIC_ACCURACY | SINTER_METRIC_TOP_K;
inline constexpr int32_t kValueMetrics = SINTER_METRIC_MAE | SINTER_METRIC_RMSE | SINTER_METRIC_R2;
// The metrics of the training steps themselves, not of a split: no evaluation reports them.
inline constexpr int32_t kStepMetrics = SINTER_METRIC_GRAD_NORM;

// The metrics the train block asks for, as bits of sinter_metric, the loss always among them. A mask of 0
// (no `metrics` setting) means the task's: loss and accuracy for a model with an i32 [batch] labels input,
// loss, accuracy and perplexity for a language model (token ids and per-step labels, two i32 [batch, T]
// inputs), else loss, MAE, RMSE and R^2.
int32_t declaredMetrics(const sinter_model_desc& m);

// What accuracy compares: class labels, an i32 [batch] tensor, and predictions, a [batch, classes] tensor of
// the loss's floating dtype.
bool isLabelsTensor(const sinter_tensor_desc& t);
bool isPredictionTensor(const sinter_tensor_desc& t, int32_t dtype);

// Where accuracy reads: the first labels input and the first prediction output other than the loss.
struct AccuracyTensors {
  int32_t labelInput = -1, predOutput = -1;
  int64_t classes = 0;
  int64_t width = 1;  // labels per sample: time steps for per-step labels, each a prediction row
  bool found() const { return labelInput >= 0 && predOutput >= 0; }
};

// The model's accuracy tensors; found() is false when it has no loss, no labels input or no prediction.
AccuracyTensors findAccuracyTensors(const sinter_model_desc& m);

// Labels of a batch predicted right (batch x width of them): the largest element of the label's prediction
// row (the first of equal ones, as std::max_element) is the label. `forwardArgs` are the buffers of a forward call that has run
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

// A split's figures. Only those of the task are measured; the others stay 0.
struct SplitMetrics {
  int64_t samples = 0;
  double loss = 0, perplexity = 0;
  double accuracy = 0, topK = 0;  // class labels: fractions of `labels` (samples, or tokens for per-step labels)
  int64_t correct = 0, topKCorrect = 0, labels = 0;
  double mae = 0, rmse = 0, r2 = 0;  // floating targets
  double value(int32_t bit) const;   // the figure of one sinter_metric bit
};

// Sums over a split's batches from which every metric follows, so that any batch size gives the same figures
// (up to the rounding of the sums).
class MetricSums {
 public:
  explicit MetricSums(int64_t targetWidth = 1) : ySum_(targetWidth), y2Sum_(targetWidth), resSum_(targetWidth) {}
  // The batch's mean loss.
  void addLoss(double loss, int64_t count);
  // Class labels [rows] and predictions [rows, classes] of `dtype`: accuracy and, for k > 0, top-k. Per-step
  // labels give several rows a sample, and the accuracy is per label (per token).
  void addClasses(const int32_t* labels, const void* pred, int32_t dtype, int64_t classes, int64_t count, int64_t k);
  // Floating targets and predictions, both [count, width] of `dtype`.
  void addValues(const void* target, const void* pred, int32_t dtype, int64_t count);
  SplitMetrics result() const;
  // Every sum as doubles (the counts exact up to 2^53), and back: what the processes of a distributed run
  // add up to measure a split each evaluated a shard of.
  std::vector<double> packed() const;
  void unpack(const std::vector<double>& sums);

 private:
  int64_t n_ = 0, rows_ = 0;  // samples; labels compared (rows of the prediction)
  double lossSum_ = 0;
  int64_t correct_ = 0, topK_ = 0;
  double absSum_ = 0, sqSum_ = 0;
  std::vector<double> ySum_, y2Sum_, resSum_;  // per target column: sum y, sum y^2, sum (y - p)^2
};

}  // namespace sinter::rt
