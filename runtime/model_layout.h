// What the training driver needs to know about a compiled model: which input takes the samples and which
// the labels, which output is the prediction, the params' sizes (checked once, before any data is read),
// and the buffers every entry point is called with.
#pragma once

#include "runtime/metrics.h"

#include <sinter/model_abi.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

namespace sinter::rt {

// Bytes per element of t's dtype; throws Error for an unknown dtype.
size_t dtypeSize(const sinter_tensor_desc& t);

// Elements of t when the batch symbol (the only one) is `batch`.
int64_t elementCount(const sinter_tensor_desc& t, int64_t batch);

// Zero-filled storage for one buffer (weights, gradients, states, outputs), aligned to a cache line: the
// generated kernels read whole vectors of 64 bytes, and a vector that straddles two lines costs two loads.
// (operator new[] aligns a large block to 16 bytes only: the MLP's weights at 16 bytes past a line made its
// batch-1 forward call 25-35% slower.)
struct FreeStorage {
  void operator()(std::byte* p) const { std::free(p); }
};
using Storage = std::unique_ptr<std::byte[], FreeStorage>;
inline constexpr size_t kStorageAlign = 64;
Storage allocate(size_t bytes);

// The params the optimizer trains: the first trainedCount(m); the last m.num_state are states.
inline int32_t trainedCount(const sinter_model_desc& m) { return m.num_params - m.num_state; }

// A model's states (BatchNorm's running statistics): train_step writes their next values into buffers of their
// own, since no two of its buffers may overlap; commit() copies them over the states once the step is kept.
struct NextStates {
  std::vector<Storage> buffers;
  std::vector<size_t> bytes;

  NextStates() = default;
  explicit NextStates(const sinter_model_desc& m);
  void commit(const sinter_model_desc& m, void* const* paramPtrs) const;
};

// An input fed from its own file beside the samples and the target: a mask, lengths, any per-sample data the
// model reads as it is (no scaling, no normalization).
struct ExtraInput {
  int32_t input = -1;
  int32_t dtype = SINTER_F32;  // f32, f64 or i32
  int64_t width = 1;           // values per sample: the product of the input's non-batch dims
};

// Which tensors of the model the driver feeds and reads. The target (labelInput) holds class labels, an i32
// [batch] (or, after token ids, an i32 [batch, T, ...]: one label per time step, a language model's), or
// floating values [batch, ...] of the samples' dtype (a regression); the prediction output is then
// [batch, classes] ([batch, T, ..., classes]), or of the target's shape.
struct Layout {
  int32_t dtype = SINTER_F32;  // of the samples, params, loss and prediction: SINTER_F32 or SINTER_F64
  int32_t imageInput = -1, labelInput = -1;
  int64_t features = 1;         // product of the image input's non-batch dims
  bool integerSamples = false;  // the samples are token ids, an i32 [batch, n, ...]
  int32_t predOutput = -1;
  int64_t classes = 0;                // class labels: the prediction's columns
  bool stepLabels = false;            // class labels per time step, an i32 [batch, T, ...] after token ids
  int64_t labelWidth = 1;             // class labels per sample: T * ... for per-step labels
  bool valueTarget = false;           // floating targets rather than class labels
  int64_t targetWidth = 1;            // floating targets: values per sample
  std::vector<int64_t> paramSizes;    // every param's, states included
  std::vector<int64_t> trainedSizes;  // the trained params': a prefix of paramSizes
  std::vector<ExtraInput> extras;     // every input after the target, in input order

  AccuracyTensors accuracy() const { return {labelInput, predOutput, classes, labelWidth}; }
};

// Checks that the driver can train m (ABI version, a train block, one symbolic dimension, one floating
// samples input, then one target input: i32 [batch] class labels or floating [batch, ...] values, then any
// extra inputs [batch, ...] of f32, f64 or i32, each fed from its own file; params, a
// scalar loss and a prediction ([batch, C], or the target's shape) all of the samples' dtype, f32 or f64)
// and returns its layout. Throws Error with the reason, and what would fit, otherwise.
Layout checkModel(const sinter_model_desc& m);

// Checks that the metrics (bits of sinter_metric) fit the task: accuracy and top-k need class labels, MAE,
// RMSE and R^2 floating targets. Throws Error saying which would fit otherwise.
void checkMetricsFit(const sinter_model_desc& m, const Layout& l, int32_t metrics);

// Element i of a buffer of f32 or f64 values, as a double.
double floatAt(const void* data, int32_t dtype, int64_t i);

// Buffers of the model's inputs, params, outputs, loss, grads and next states, sized for the largest batch, and
// the argument arrays of forward (inputs..., params..., outputs...) and train_step (inputs..., params..., loss,
// grads..., next states...). Floating buffers hold the layout's dtype.
struct Buffers {
  std::vector<Storage> inputs, params, outputs, grads;  // grads: one per trained param
  NextStates next;
  Storage loss = allocate(sizeof(double));
  int32_t dtype = SINTER_F32;
  std::vector<float> staging;  // an f64 model's samples, gathered as f32 before widening
  std::vector<void*> forwardArgs, trainArgs;
  std::vector<void*> paramPtrs, gradPtrs;

  void* images(const Layout& l) { return inputs[l.imageInput].get(); }
  int32_t* labels(const Layout& l) { return reinterpret_cast<int32_t*>(inputs[l.labelInput].get()); }
  double output(int32_t i, int64_t k) const { return floatAt(outputs[i].get(), dtype, k); }
  double lossValue() const { return floatAt(loss.get(), dtype, 0); }
};

Buffers makeBuffers(const sinter_model_desc& m, const Layout& l, int64_t maxBatch);

}  // namespace sinter::rt
