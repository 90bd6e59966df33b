#include "runtime/model_layout.h"

#include "runtime/error.h"
#include "runtime/init.h"
#include "runtime/metrics.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace sinter::rt {
namespace {

std::string str(const char* s) { return s ? s : ""; }

std::string dtypeName(int32_t dtype) {
  return dtype == SINTER_F64 ? "f64" : dtype == SINTER_F32 ? "f32" : dtype == SINTER_I32 ? "i32" : "?";
}

// A prediction for per-step labels [batch, T, ...]: [batch, T, ..., classes] of the loss's dtype.
bool isStepPrediction(const sinter_tensor_desc& t, const sinter_tensor_desc& labels, int32_t dtype) {
  if (t.dtype != dtype || t.rank != labels.rank + 1 || t.dims[0] >= 0 || t.dims[t.rank - 1] <= 0) return false;
  for (int32_t d = 1; d < labels.rank; ++d)
    if (t.dims[d] != labels.dims[d]) return false;
  return true;
}

std::string stepPredictionShape(const sinter_tensor_desc& labels) {
  std::string s = "[batch";
  for (int32_t d = 1; d < labels.rank; ++d) s += ", " + std::to_string(labels.dims[d]);
  return s + ", classes]";
}

}  // namespace

size_t dtypeSize(const sinter_tensor_desc& t) {
  switch (t.dtype) {
    case SINTER_F32: return 4;
    case SINTER_F64: return 8;
    case SINTER_I32: return 4;
    default: throw Error("tensor '" + str(t.name) + "' has unknown dtype " + std::to_string(t.dtype));
  }
}

int64_t elementCount(const sinter_tensor_desc& t, int64_t batch) {
  int64_t n = 1;
  for (int32_t i = 0; i < t.rank; ++i) n *= t.dims[i] < 0 ? batch : t.dims[i];
  return n;
}

Storage allocate(size_t bytes) {
  const size_t size = (std::max<size_t>(bytes, 1) + kStorageAlign - 1) / kStorageAlign * kStorageAlign;
  auto* p = static_cast<std::byte*>(std::aligned_alloc(kStorageAlign, size));
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, size);
  return Storage(p);
}

double floatAt(const void* data, int32_t dtype, int64_t i) {
  return dtype == SINTER_F64 ? static_cast<const double*>(data)[i] : static_cast<const float*>(data)[i];
}

Layout checkModel(const sinter_model_desc& m) {
  const std::string model = "model '" + str(m.name) + "'";
  if (m.abi_version != SINTER_ABI_VERSION)
    throw Error(model + " was compiled for ABI version " + std::to_string(m.abi_version) + ", this runtime is " +
                std::to_string(SINTER_ABI_VERSION) + "; rebuild it with this version of sinter");
  if (!m.has_train || !m.train_step || m.loss_output < 0 || m.loss_output >= m.num_outputs)
    throw Error(model + " has no train block: nothing to train");
  if (!m.forward) throw Error(model + " has no forward entry point");
  if (m.num_state < 0 || m.num_state > m.num_params) throw Error(model + ": malformed descriptor (num_state)");
  if (m.num_syms != 1)
    throw Error(model + " has " + std::to_string(m.num_syms) +
                " symbolic dimensions; the training driver supports exactly one, the batch");
  auto symbolic = [](const sinter_tensor_desc& t, int32_t i) { return t.dims[i] < 0; };
  auto checkDims = [&](const sinter_tensor_desc& t, const char* what) {
    dtypeSize(t);
    for (int32_t i = 0; i < t.rank; ++i)
      if (t.dims[i] < -1) throw Error(what + std::string(" '") + str(t.name) + "' uses an unknown symbolic dimension");
  };

  Layout l;
  for (int32_t i = 0; i < m.num_inputs; ++i) {
    const sinter_tensor_desc& t = m.inputs[i];
    checkDims(t, "input");
    const bool batchFirst = t.rank >= 1 && symbolic(t, 0);
    bool restFixed = true;
    for (int32_t d = 1; d < t.rank; ++d) restFixed = restFixed && !symbolic(t, d);
    const bool floating = t.dtype == SINTER_F32 || t.dtype == SINTER_F64;
    // Token ids: an i32 [batch, ...] of rank 2 or more (an i32 [batch] is class labels).
    const bool tokens = t.dtype == SINTER_I32 && t.rank >= 2;
    if (l.imageInput >= 0 && l.labelInput >= 0) {
      // After the samples and the target: an extra input (a mask, lengths), fed as it is from its own file.
      if (!batchFirst || !restFixed)
        throw Error(model + ": input '" + str(t.name) +
                    "' is not what the training driver feeds: an extra input after the samples and the target "
                    "needs the batch first and fixed dimensions after it, [batch, ...]");
      l.extras.push_back({i, t.dtype, elementCount(t, 1)});
    } else if ((floating || tokens) && batchFirst && restFixed && l.imageInput < 0) {
      l.imageInput = i;
      l.integerSamples = tokens;
      // Integer samples leave the floating dtype to the loss.
      const int32_t lossDtype = m.outputs[m.loss_output].dtype;
      l.dtype = tokens ? (lossDtype == SINTER_F64 ? SINTER_F64 : SINTER_F32) : t.dtype;
      for (int32_t d = 1; d < t.rank; ++d) l.features *= t.dims[d];
    } else if (isLabelsTensor(t) && l.labelInput < 0) {
      l.labelInput = i;
    } else if (tokens && batchFirst && restFixed && l.labelInput < 0 && l.integerSamples) {
      l.labelInput = i;  // after token ids, one class label per time step: a language model's targets
      l.stepLabels = true;
      l.labelWidth = elementCount(t, 1);
    } else if (floating && batchFirst && restFixed && l.labelInput < 0) {
      if (t.dtype != l.dtype)
        throw Error(model + ": target input '" + str(t.name) + "' is " + dtypeName(t.dtype) + " but the " +
                    (l.integerSamples ? "loss" : "samples input '" + str(m.inputs[l.imageInput].name) + "'") + " is " +
                    dtypeName(l.dtype) + "; declare both " + dtypeName(l.dtype));
      l.labelInput = i;
      l.valueTarget = true;
      l.targetWidth = elementCount(t, 1);
    } else {
      throw Error(model + ": input '" + str(t.name) + "' (" + dtypeName(t.dtype) +
                  ") is not what the training driver feeds: it needs first the samples (f32 or f64 [batch, ...], "
                  "or token ids i32 [batch, n, ...]), then the target: class labels (i32 [batch]; after token ids "
                  "also i32 [batch, n, ...], one per time step) or values (the samples' dtype, [batch] or "
                  "[batch, ...]), then any extra inputs such as masks or lengths (declare those after the target)");
    }
  }
  if (l.imageInput < 0 || l.labelInput < 0)
    throw Error(model +
                " needs two inputs: the samples (f32 or f64 [batch, ...], or token ids i32 [batch, n, ...]) and the "
                "target: class labels (i32 [batch]) or values (the samples' dtype, [batch] or [batch, ...])");

  // One floating dtype for the whole model: the optimizer updates every param in it.
  const std::string dtype = l.dtype == SINTER_F64 ? "f64" : "f32";
  for (int32_t i = 0; i < m.num_params; ++i) {
    const sinter_tensor_desc& t = m.params[i];
    if (t.dtype != l.dtype)
      throw Error(model + ": param '" + str(t.name) + "' is " +
                  (t.dtype == SINTER_F64   ? "f64"
                   : t.dtype == SINTER_F32 ? "f32"
                                           : "not floating") +
                  " but the " +
                  (l.integerSamples ? "loss" : "samples input '" + str(m.inputs[l.imageInput].name) + "'") + " is " +
                  dtype + "; the training driver trains models of one floating dtype (declare every param " + dtype +
                  ")");
    l.paramSizes.push_back(fixedElementCount(t));
  }
  l.trainedSizes.assign(l.paramSizes.begin(), l.paramSizes.begin() + trainedCount(m));

  for (int32_t i = 0; i < m.num_outputs; ++i) {
    const sinter_tensor_desc& t = m.outputs[i];
    checkDims(t, "output");
    if (i == m.loss_output) {
      if (t.dtype != l.dtype || elementCount(t, 0) != 1 || elementCount(t, 2) != 1)
        throw Error(model + ": loss output '" + str(t.name) + "' is not one " + dtype + " value");
    } else if (l.predOutput < 0 && l.stepLabels) {
      if (isStepPrediction(t, m.inputs[l.labelInput], l.dtype)) l.predOutput = i, l.classes = t.dims[t.rank - 1];
    } else if (l.predOutput < 0 && !l.valueTarget && isPredictionTensor(t, l.dtype)) {
      l.predOutput = i;
      l.classes = t.dims[1];
    } else if (l.predOutput < 0 && l.valueTarget && t.dtype == l.dtype && t.rank >= 1 && t.dims[0] < 0 &&
               elementCount(t, 1) == l.targetWidth && elementCount(t, 2) == 2 * l.targetWidth) {
      l.predOutput = i;
    }
  }
  if (l.predOutput < 0 && l.stepLabels)
    throw Error(model + " has no prediction output for its per-step target '" + str(m.inputs[l.labelInput].name) +
                "': an " + dtype + " output " + stepPredictionShape(m.inputs[l.labelInput]) +
                " (the classes of every step last)");
  if (l.predOutput < 0 && !l.valueTarget)
    throw Error(model + " has no prediction output: an " + dtype + " output [batch, classes]");
  if (l.predOutput < 0)
    throw Error(model + " has no prediction output for its target '" + str(m.inputs[l.labelInput].name) + "': an " +
                dtype + " output [batch, ...] of " + std::to_string(l.targetWidth) + " value" +
                (l.targetWidth == 1 ? "" : "s") +
                " per sample (the target is the input after the samples: declare extra inputs such as masks or "
                "lengths after it)");
  return l;
}

void checkMetricsFit(const sinter_model_desc& m, const Layout& l, int32_t metrics) {
  const int32_t wrong = metrics & (l.valueTarget ? kClassMetrics : kValueMetrics);
  if (!wrong) return;
  const sinter_tensor_desc& t = m.inputs[l.labelInput];
  std::string names, fitting;
  for (const MetricName& n : metricNames()) {
    if (n.bit & wrong) names += (names.empty() ? "" : ", ") + std::string(n.name);
    if (n.bit & (l.valueTarget ? kValueMetrics : kClassMetrics))
      fitting += (fitting.empty() ? "" : ", ") + std::string(n.name);
  }
  throw Error("metric " + names + " does not fit model '" + str(m.name) + "': its target '" + str(t.name) + "' holds " +
              (l.valueTarget ? "floating values (" : "class labels (") + dtypeName(t.dtype) + "); choose among loss, " +
              fitting + " and perplexity (the train block's `metrics`, or --metrics-list)");
}

NextStates::NextStates(const sinter_model_desc& m) {
  for (int32_t i = trainedCount(m); i < m.num_params; ++i) {
    bytes.push_back(static_cast<size_t>(fixedElementCount(m.params[i])) * dtypeSize(m.params[i]));
    buffers.push_back(allocate(bytes.back()));
  }
}

void NextStates::commit(const sinter_model_desc& m, void* const* paramPtrs) const {
  for (size_t s = 0; s < buffers.size(); ++s)
    std::memcpy(paramPtrs[static_cast<size_t>(trainedCount(m)) + s], buffers[s].get(), bytes[s]);
}

Buffers makeBuffers(const sinter_model_desc& m, const Layout& l, int64_t maxBatch) {
  Buffers b;
  b.next = NextStates(m);
  b.dtype = l.dtype;
  auto make = [&](const sinter_tensor_desc& t) { return allocate(elementCount(t, maxBatch) * dtypeSize(t)); };
  for (int32_t i = 0; i < m.num_inputs; ++i) b.inputs.push_back(make(m.inputs[i]));
  for (int32_t i = 0; i < m.num_params; ++i) {
    b.params.push_back(make(m.params[i]));
    b.paramPtrs.push_back(b.params.back().get());
    if (i >= trainedCount(m)) continue;
    b.grads.push_back(make(m.params[i]));
    b.gradPtrs.push_back(b.grads.back().get());
  }
  for (int32_t i = 0; i < m.num_outputs; ++i) b.outputs.push_back(make(m.outputs[i]));
  // forward: inputs..., params..., outputs...; train_step: inputs..., params..., loss, grads..., next states...
  for (auto& s : b.inputs) b.forwardArgs.push_back(s.get());
  for (auto& s : b.params) b.forwardArgs.push_back(s.get());
  b.trainArgs = b.forwardArgs;
  for (auto& s : b.outputs) b.forwardArgs.push_back(s.get());
  b.trainArgs.push_back(b.loss.get());
  for (auto& s : b.grads) b.trainArgs.push_back(s.get());
  for (auto& s : b.next.buffers) b.trainArgs.push_back(s.get());
  return b;
}

}  // namespace sinter::rt
