// The C API of runtime/include/sinter/sinter.h: an instance owns one model's weights, gradients and
// optimizer, and every entry point turns exceptions into a status and a message. Params are f32 or f64 (one
// dtype per model, the optimizer's).
#include <sinter/sinter.h>

#include <cmath>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "runtime/api_checks.h"
#include "runtime/checkpoint.h"
#include "runtime/denormals.h"
#include "runtime/error.h"
#include "runtime/init.h"
#include "runtime/metrics.h"
#include "runtime/model_layout.h"
#include "runtime/optimizer.h"
#include "runtime/parallel.h"
#include "runtime/saved_normalizer.h"

namespace rt = sinter::rt;

// Everything a call touches besides its arguments lives here, never in a global, so that instances in
// different threads share nothing but the read-only model and the thread pool.
struct sinter_instance {
  const sinter_model_desc* model = nullptr;
  std::vector<rt::Storage> params;
  rt::Storage grads;                       // every trained param's gradient, in param order (sinter_gradients)
  int64_t gradElements = 0;                // of the flat buffer, the gaps included
  std::vector<void*> paramPtrs, gradPtrs;  // gradPtrs: into `grads`, one per trained param
  bool gradientsReady = false;             // computed and not applied yet
  rt::NextStates next;
  std::unique_ptr<rt::Optimizer> optimizer;
  std::vector<rt::Storage> evalOutputs;  // sinter_evaluate's outputs, sized for evalBatch samples
  int64_t evalBatch = 0;
  uint64_t seed = 0;  // with the step count, the seed of each train step's random ops (dropout)
  uint64_t steps = 0;
  rt::Normalizer norm;       // --normalize standard statistics of the samples input; inactive when empty
  rt::Storage standardized;  // the samples input standardized, for normBatch samples
  int64_t normBatch = 0;
  bool flushDenormals = true;    // sinter_set_flush_denormals: the model runs with FTZ and DAZ, as the drivers do
  rt::AccuracyTensors accuracy;  // the labels input and its prediction, found once: every call checks the labels
  // A call's buffer and symbol lists, kept from call to call: a batch-1 forward of a small model takes a few
  // microseconds, and three heap allocations per call were a visible part of it.
  std::vector<const void*> callInputs;
  std::vector<void*> callBuffers;
  std::vector<int64_t> callSyms;
  std::string error;
};

namespace {

using rt::ArgumentError;

// Why this thread's last sinter_create returned NULL: there is no instance to hold the message.
thread_local std::string tCreateError;

std::string str(const char* s) { return s ? s : ""; }

constexpr size_t kGradAlign = 64;

// Runs `body`, turning an exception into a status and the instance's error message.
template <class F>
sinter_status guarded(sinter_instance* in, F body) {
  if (!in) return SINTER_ERROR_ARGUMENT;
  in->error.clear();
  try {
    return body();
  } catch (const ArgumentError& e) {
    in->error = e.what();
    return SINTER_ERROR_ARGUMENT;
  } catch (const rt::IoError& e) {
    in->error = e.what();
    return SINTER_ERROR_IO;
  } catch (const std::bad_alloc&) {
    in->error = "out of memory";
    return SINTER_ERROR_MEMORY;
  } catch (const std::exception& e) {
    in->error = e.what();
    return SINTER_ERROR_MISMATCH;
  }
}

// guarded for the calls that run the model: under the instance's flush-to-zero mode (the pool's workers take
// the caller's MXCSR with each job), the caller's mode restored on every exit path.
template <class F>
sinter_status running(sinter_instance* in, F body) {
  return guarded(in, [&] {
    rt::DenormalGuard ftz(in->flushDenormals);
    return body();
  });
}

// The buffers of a forward call: inputs..., params..., outputs..., in the instance's list (valid until the
// next call).
void* const* forwardBuffers(sinter_instance& in, const void* const* inputs, void* const* outputs) {
  const sinter_model_desc& m = *in.model;
  std::vector<void*>& buffers = in.callBuffers;
  buffers.clear();
  for (int32_t i = 0; i < m.num_inputs; ++i) buffers.push_back(const_cast<void*>(inputs[i]));
  for (void* p : in.paramPtrs) buffers.push_back(p);
  for (int32_t i = 0; i < m.num_outputs; ++i) buffers.push_back(outputs[i]);
  return buffers.data();
}

// sym_dims of a forward call: the batch for every symbol, then the seed (0: forward draws nothing).
const int64_t* forwardSyms(sinter_instance& in, int64_t batch) {
  in.callSyms.assign(static_cast<size_t>(in.model->num_syms) + 1, batch);
  in.callSyms.back() = 0;
  return in.callSyms.data();
}

// sinter_evaluate's own output buffers, grown to `batch` samples when needed and kept for the next call.
std::vector<void*> evalOutputs(sinter_instance& in, int64_t batch) {
  const sinter_model_desc& m = *in.model;
  if (batch > in.evalBatch) {
    in.evalOutputs.clear();
    in.evalBatch = 0;
    for (int32_t i = 0; i < m.num_outputs; ++i)
      in.evalOutputs.push_back(rt::allocate(static_cast<size_t>(rt::tensorBytes(m.outputs[i], batch))));
    in.evalBatch = batch;
  }
  std::vector<void*> out;
  for (auto& s : in.evalOutputs) out.push_back(s.get());
  return out;
}

// The descriptors and count of one kind of tensor; an ArgumentError for an unknown kind.
const sinter_tensor_desc* tensorsOf(const sinter_model_desc& m, int32_t kind, int32_t& count) {
  switch (kind) {
    case SINTER_INPUT: count = m.num_inputs; return m.inputs;
    case SINTER_PARAM: count = m.num_params; return m.params;
    case SINTER_OUTPUT: count = m.num_outputs; return m.outputs;
    default:
      throw ArgumentError("unknown tensor kind " + std::to_string(kind) +
                          " (SINTER_INPUT, SINTER_PARAM or SINTER_OUTPUT)");
  }
}

// Labels outside [0, classes) make cross_entropy read past its row (NaN, or a finite garbage loss): an
// argument error naming the sample, for every entry point that takes the labels input.
void checkLabelsInput(const sinter_instance& in, const void* const* inputs, int64_t batch) {
  if (in.accuracy.found()) rt::checkLabels(*in.model, in.accuracy, inputs[in.accuracy.labelInput], batch);
}

// The inputs a call runs on: the caller's, or, when the instance holds statistics, a list (the instance's,
// valid until the next call) with the samples input (input 0) standardized into the instance's buffer.
const void* const* samplesFor(sinter_instance& in, int64_t batch, const void* const* inputs) {
  const sinter_model_desc& m = *in.model;
  if (in.norm.mean.empty()) return inputs;
  std::vector<const void*>& out = in.callInputs;
  out.assign(inputs, inputs + m.num_inputs);
  if (batch > in.normBatch) {
    in.standardized = rt::allocate(static_cast<size_t>(rt::tensorBytes(m.inputs[0], batch)));
    in.normBatch = batch;
  }
  rt::standardizeRows(in.norm, m.inputs[0].dtype, inputs[0], in.standardized.get(), batch);
  out[0] = in.standardized.get();
  return out.data();
}

const char* kindName(int32_t kind) {
  return kind == SINTER_INPUT ? "input" : kind == SINTER_PARAM ? "param" : "output";
}

}  // namespace

extern "C" {

int64_t sinter_tensor_elements(const sinter_tensor_desc* t, int64_t batch) {
  if (!t) return 0;
  int64_t n = 1;
  for (int32_t i = 0; i < t->rank; ++i) n *= t->dims[i] < 0 ? batch : t->dims[i];
  return n;
}

int sinter_set_threads(int threads) {
  rt::setThreads(threads);
  return rt::threads();
}

sinter_instance* sinter_create(const sinter_model_desc* model, uint64_t seed) {
  tCreateError.clear();
  try {
    rt::checkDescriptor(model);
    auto in = std::make_unique<sinter_instance>();
    in->model = model;
    in->seed = seed;
    in->accuracy = rt::findAccuracyTensors(*model);
    rt::installParallelFor(*model);
    std::vector<int64_t> sizes;
    std::vector<size_t> gradOffsets;
    size_t gradBytes = 0;
    for (int32_t i = 0; i < model->num_params; ++i) {
      const sinter_tensor_desc& t = model->params[i];
      sizes.push_back(sinter_tensor_elements(&t, 1));
      const size_t bytes = static_cast<size_t>(sizes.back()) * rt::dtypeSize(t);
      in->params.push_back(rt::allocate(bytes));
      in->paramPtrs.push_back(in->params.back().get());
      if (i >= rt::trainedCount(*model)) continue;
      gradOffsets.push_back(gradBytes);
      gradBytes += (bytes + kGradAlign - 1) / kGradAlign * kGradAlign;
    }
    // One flat buffer, each gradient at a 64-byte boundary: the gaps stay zero, so a sum over processes of
    // the whole buffer is a sum of every gradient.
    in->grads = rt::allocate(gradBytes);
    for (size_t off : gradOffsets) in->gradPtrs.push_back(in->grads.get() + off);
    const size_t elementBytes = model->num_params > 0 ? rt::dtypeSize(model->params[0]) : sizeof(float);
    in->gradElements = static_cast<int64_t>(gradBytes / elementBytes);
    sizes.resize(static_cast<size_t>(rt::trainedCount(*model)));
    in->next = rt::NextStates(*model);
    rt::initParams(*model, seed, in->paramPtrs.data());
    // The optimizer works in the params' dtype; a model that mixes f32 and f64 params has none to offer.
    if (model->has_train) {
      const int32_t dtype = model->num_params > 0 ? model->params[0].dtype : SINTER_F32;
      for (int32_t i = 0; i < model->num_params; ++i)
        if (model->params[i].dtype != dtype)
          throw rt::Error("model '" + str(model->name) + "' mixes param dtypes ('" + str(model->params[0].name) +
                          "' and '" + str(model->params[i].name) + "'); its optimizer updates params of one dtype");
      in->optimizer = rt::Optimizer::create(model->train, sizes, dtype, rt::paramGroupsOf(*model));
    }
    return in.release();
  } catch (const std::bad_alloc&) {
    tCreateError = "out of memory";
  } catch (const std::exception& e) {
    tCreateError = e.what();
  }
  return nullptr;
}

void sinter_destroy(sinter_instance* in) { delete in; }

const char* sinter_last_error(const sinter_instance* in) {
  if (in) return in->error.c_str();
  return tCreateError.empty() ? "instance is NULL" : tCreateError.c_str();
}

int32_t sinter_num_tensors(sinter_instance* in, int32_t kind) {
  int32_t count = -1;
  const sinter_status status = guarded(in, [&] {
    tensorsOf(*in->model, kind, count);
    return SINTER_OK;
  });
  return status == SINTER_OK ? count : -1;
}

sinter_status sinter_tensor_shape(sinter_instance* in, int32_t kind, int32_t index, int64_t batch,
                                  sinter_tensor_info* info, int64_t* dims, int32_t capacity) {
  return guarded(in, [&] {
    if (!info) throw ArgumentError("info is NULL");
    int32_t count = 0;
    const sinter_tensor_desc* tensors = tensorsOf(*in->model, kind, count);
    if (index < 0 || index >= count)
      throw ArgumentError(std::string(kindName(kind)) + " index " + std::to_string(index) +
                          " is out of range: model '" + str(in->model->name) + "' has " + std::to_string(count) + " " +
                          kindName(kind) + "s");
    rt::checkBatch(batch);
    const sinter_tensor_desc& t = tensors[index];
    if (dims && capacity < t.rank)
      throw ArgumentError(std::string(kindName(kind)) + " '" + str(t.name) + "' has rank " + std::to_string(t.rank) +
                          " but dims holds " + std::to_string(capacity));
    const int64_t bytes = rt::tensorBytes(t, batch);
    info->name = t.name;
    info->dtype = t.dtype;
    info->rank = t.rank;
    info->bytes = bytes;
    info->elements = bytes / static_cast<int64_t>(rt::dtypeSize(t));
    for (int32_t i = 0; dims && i < t.rank; ++i) dims[i] = t.dims[i] < 0 ? batch : t.dims[i];
    return SINTER_OK;
  });
}

sinter_status sinter_forward(sinter_instance* in, int64_t batch, const void* const* inputs, void* const* outputs) {
  return running(in, [&] {
    const sinter_model_desc& m = *in->model;
    rt::checkBatch(batch);
    rt::checkPointers(inputs, m.num_inputs, m.inputs, "inputs");
    rt::checkPointers(outputs, m.num_outputs, m.outputs, "outputs");
    rt::checkOutputsApart(m, batch, inputs, in->paramPtrs.data(), outputs);
    checkLabelsInput(*in, inputs, batch);
    m.forward(forwardBuffers(*in, samplesFor(*in, batch, inputs), outputs), forwardSyms(*in, batch));
    return SINTER_OK;
  });
}

// The loss and gradients of a batch into the instance's buffers; the update is left to applyGradients.
static sinter_status computeGradients(sinter_instance* in, int64_t batch, const void* const* inputs, float* loss) {
  return running(in, [&] {
    const sinter_model_desc& m = *in->model;
    if (!m.train_step || !in->optimizer) throw ArgumentError("model '" + str(m.name) + "' has no train block");
    rt::checkBatch(batch);
    rt::checkPointers(inputs, m.num_inputs, m.inputs, "inputs");
    checkLabelsInput(*in, inputs, batch);
    double slot = 0;  // the loss, in the loss output's dtype
    std::vector<void*> buffers;
    const void* const* samples = samplesFor(*in, batch, inputs);
    for (int32_t i = 0; i < m.num_inputs; ++i) buffers.push_back(const_cast<void*>(samples[i]));
    for (void* p : in->paramPtrs) buffers.push_back(p);
    buffers.push_back(&slot);
    for (void* g : in->gradPtrs) buffers.push_back(g);
    for (const rt::Storage& s : in->next.buffers) buffers.push_back(s.get());
    // sym_dims: the batch for every symbol, then a fresh seed for this step's random ops.
    std::vector<int64_t> syms(static_cast<size_t>(m.num_syms) + 1, batch);
    syms.back() = static_cast<int64_t>(in->seed * 0x9E3779B97F4A7C15ull + ++in->steps);
    m.train_step(buffers.data(), syms.data());
    const double value = rt::floatAt(&slot, m.outputs[m.loss_output].dtype, 0);
    if (loss) *loss = static_cast<float>(value);
    in->gradientsReady = std::isfinite(value);
    if (!std::isfinite(value)) {
      in->error = "the loss is " + std::to_string(value) + "; the weights were not updated";
      return SINTER_ERROR_NONFINITE;
    }
    return SINTER_OK;
  });
}

static sinter_status applyGradients(sinter_instance* in) {
  return running(in, [&] {
    const sinter_model_desc& m = *in->model;
    if (!m.train_step || !in->optimizer) throw ArgumentError("model '" + str(m.name) + "' has no train block");
    if (!in->gradientsReady)
      throw ArgumentError("no gradients to apply: call sinter_compute_gradients first (each set applies once)");
    in->gradientsReady = false;
    in->optimizer->step(in->paramPtrs.data(), in->gradPtrs.data());
    // The loss was finite but a gradient was not, or the update overflowed: say which param, at once.
    if (const int32_t i = in->optimizer->nonFiniteParam(); i >= 0) {
      in->error = "param '" + str(m.params[i].name) + "' holds a NaN or an infinity after the update of step " +
                  std::to_string(in->optimizer->steps()) + " (a non-finite gradient, or a learning rate too large)";
      return SINTER_ERROR_NONFINITE;
    }
    in->next.commit(m, in->paramPtrs.data());
    return SINTER_OK;
  });
}

sinter_status sinter_train_step(sinter_instance* in, int64_t batch, const void* const* inputs, float* loss) {
  const sinter_status s = computeGradients(in, batch, inputs, loss);
  return s == SINTER_OK ? applyGradients(in) : s;
}

sinter_status sinter_compute_gradients(sinter_instance* in, int64_t batch, const void* const* inputs, float* loss) {
  return computeGradients(in, batch, inputs, loss);
}

void* sinter_gradients(sinter_instance* in, int64_t* elements) {
  if (elements) *elements = in && in->optimizer ? in->gradElements : 0;
  return in && in->optimizer ? in->grads.get() : nullptr;
}

sinter_status sinter_apply_gradients(sinter_instance* in) { return applyGradients(in); }

sinter_status sinter_evaluate(sinter_instance* in, int64_t batch, const void* const* inputs, sinter_metrics* metrics) {
  return running(in, [&] {
    const sinter_model_desc& m = *in->model;
    if (m.loss_output < 0 || m.loss_output >= m.num_outputs)
      throw ArgumentError("model '" + str(m.name) + "' has no train block: it has no loss to evaluate");
    rt::checkBatch(batch);
    rt::checkPointers(inputs, m.num_inputs, m.inputs, "inputs");
    if (!metrics) throw ArgumentError("metrics is NULL");
    const rt::AccuracyTensors& a = in->accuracy;
    const bool accuracy = (rt::declaredMetrics(m) & SINTER_METRIC_ACCURACY) && a.found();
    checkLabelsInput(*in, inputs, batch);
    std::vector<void*> outputs = evalOutputs(*in, batch);
    void* const* buffers = forwardBuffers(*in, samplesFor(*in, batch, inputs), outputs.data());
    const rt::BatchMetrics r = rt::evaluateBatch(m, accuracy ? &a : nullptr, buffers, batch);
    sinter_metrics out{};
    out.metrics = SINTER_METRIC_LOSS | (accuracy ? SINTER_METRIC_ACCURACY : 0);
    out.count = batch;
    out.loss = r.loss;
    out.correct = accuracy ? r.correct : 0;
    out.accuracy = accuracy ? static_cast<double>(r.correct) / static_cast<double>(batch) : std::nan("");
    *metrics = out;
    return SINTER_OK;
  });
}

float* sinter_param_data(sinter_instance* in, int32_t index) {
  if (!in || index < 0 || index >= in->model->num_params || in->model->params[index].dtype != SINTER_F32)
    return nullptr;
  return static_cast<float*>(in->paramPtrs[static_cast<size_t>(index)]);
}

double* sinter_param_data_f64(sinter_instance* in, int32_t index) {
  if (!in || index < 0 || index >= in->model->num_params || in->model->params[index].dtype != SINTER_F64)
    return nullptr;
  return static_cast<double*>(in->paramPtrs[static_cast<size_t>(index)]);
}

sinter_status sinter_set_learning_rate(sinter_instance* in, float lr) {
  return guarded(in, [&] {
    if (!in->optimizer) throw ArgumentError("the model has no optimizer");
    if (!(lr >= 0) || !std::isfinite(lr)) throw ArgumentError("the learning rate must be finite and >= 0");
    in->optimizer->setLr(lr);
    return SINTER_OK;
  });
}

sinter_status sinter_set_flush_denormals(sinter_instance* in, int enable) {
  return guarded(in, [&] {
    in->flushDenormals = enable != 0;
    return SINTER_OK;
  });
}

sinter_status sinter_save_weights(sinter_instance* in, const char* path) {
  return guarded(in, [&] {
    if (!path) throw ArgumentError("path is NULL");
    rt::CheckpointExtras x;
    rt::addNormalizer(x, in->norm);
    rt::saveCheckpoint(path, *in->model, in->paramPtrs.data(), &x);
    return SINTER_OK;
  });
}

sinter_status sinter_load_weights(sinter_instance* in, const char* path) {
  return guarded(in, [&] {
    if (!path) throw ArgumentError("path is NULL");
    // Into copies first: a failed load, even one that fails while reading the data, changes no weight.
    const sinter_model_desc& m = *in->model;
    std::vector<rt::Storage> loaded;
    std::vector<void*> ptrs;
    for (int32_t i = 0; i < m.num_params; ++i) {
      loaded.push_back(rt::allocate(static_cast<size_t>(rt::tensorBytes(m.params[i], 1))));
      ptrs.push_back(loaded.back().get());
    }
    // The statistics of --normalize standard come with the weights, or none do: weights without them leave
    // the samples as the caller gives them.
    rt::Normalizer norm;
    if (rt::hasSavedNormalizer(path)) rt::loadWithNormalizer(path, m, ptrs.data(), rt::standardizedFeatures(m), norm);
    else rt::loadCheckpoint(path, m, ptrs.data());
    for (size_t i = 0; i < ptrs.size(); ++i)
      std::memcpy(in->paramPtrs[i], ptrs[i], static_cast<size_t>(rt::tensorBytes(m.params[i], 1)));
    in->norm = std::move(norm);
    return SINTER_OK;
  });
}

sinter_status sinter_set_normalizer(sinter_instance* in, const float* mean, const float* inv_std, int64_t features) {
  return guarded(in, [&] {
    if (!mean && !inv_std) {
      in->norm = {};
      return SINTER_OK;
    }
    if (!mean || !inv_std) throw ArgumentError(std::string(mean ? "inv_std" : "mean") + " is NULL");
    const int64_t want = rt::standardizedFeatures(*in->model);
    if (features != want)
      throw ArgumentError("statistics of " + std::to_string(features) + " features, but input '" +
                          str(in->model->inputs[0].name) + "' holds " + std::to_string(want) + " per sample");
    const auto n = static_cast<size_t>(features);
    for (size_t j = 0; j < n; ++j)
      if (!std::isfinite(mean[j]) || !std::isfinite(inv_std[j]))
        throw ArgumentError("statistics of feature " + std::to_string(j) + " are not finite");
    in->norm.mean.assign(mean, mean + n);
    in->norm.invStd.assign(inv_std, inv_std + n);
    return SINTER_OK;
  });
}

int64_t sinter_get_normalizer(sinter_instance* in, const float** mean, const float** inv_std) {
  const bool active = in && !in->norm.mean.empty();
  if (mean) *mean = active ? in->norm.mean.data() : nullptr;
  if (inv_std) *inv_std = active ? in->norm.invStd.data() : nullptr;
  return active ? static_cast<int64_t>(in->norm.mean.size()) : 0;
}

}  // extern "C"
