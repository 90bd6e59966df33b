// The C API of runtime/include/sinter/sinter.h: an instance owns one model's weights, gradients and
// optimizer, and every entry point turns exceptions into a status and a message. Params are f32 or f64 (one
// dtype per model, the optimizer's).
#include <sinter/sinter.h>

#include <cmath>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "runtime/checkpoint.h"
#include "runtime/init.h"
#include "runtime/model_layout.h"
#include "runtime/optimizer.h"
#include "runtime/parallel.h"

struct sinter_instance {
  const sinter_model_desc* model = nullptr;
  std::vector<sinter::rt::Storage> params, grads;
  std::vector<void*> paramPtrs, gradPtrs;
  std::unique_ptr<sinter::rt::Optimizer> optimizer;
  uint64_t seed = 0;   // with the step count, the seed of each train step's random ops (dropout)
  uint64_t steps = 0;
  std::string error;
};

namespace {

struct ArgumentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

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
  } catch (const std::exception& e) {
    in->error = e.what();
    const std::string m = e.what();
    return m.find("cannot") != std::string::npos || m.find("No such file") != std::string::npos ? SINTER_ERROR_IO
                                                                                                  : SINTER_ERROR_MISMATCH;
  }
}

void checkBatch(int64_t batch) {
  if (batch < 1 || batch > (int64_t{1} << 31)) throw ArgumentError("batch must be between 1 and 2^31, got " + std::to_string(batch));
}

void checkPointers(const void* const* ptrs, int32_t count, const sinter_tensor_desc* descs, const char* what) {
  if (!ptrs) throw ArgumentError(std::string(what) + " is NULL");
  for (int32_t i = 0; i < count; ++i)
    if (!ptrs[i]) throw ArgumentError(std::string(what) + "[" + std::to_string(i) + "] ('" + descs[i].name + "') is NULL");
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
  sinter::rt::setThreads(threads);
  return sinter::rt::threads();
}

sinter_instance* sinter_create(const sinter_model_desc* model, uint64_t seed) {
  if (!model || model->abi_version != SINTER_ABI_VERSION) return nullptr;
  try {
    auto in = std::make_unique<sinter_instance>();
    in->model = model;
    in->seed = seed;
    sinter::rt::installParallelFor(*model);
    std::vector<int64_t> sizes;
    for (int32_t i = 0; i < model->num_params; ++i) {
      const sinter_tensor_desc& t = model->params[i];
      sizes.push_back(sinter_tensor_elements(&t, 1));
      const size_t bytes = static_cast<size_t>(sizes.back()) * sinter::rt::dtypeSize(t);
      in->params.push_back(sinter::rt::allocate(bytes));
      in->grads.push_back(sinter::rt::allocate(bytes));
      in->paramPtrs.push_back(in->params.back().get());
      in->gradPtrs.push_back(in->grads.back().get());
    }
    sinter::rt::initParams(*model, seed, in->paramPtrs.data());
    // The optimizer works in the params' dtype; a model that mixes f32 and f64 params has none to offer.
    if (model->has_train) {
      const int32_t dtype = model->num_params > 0 ? model->params[0].dtype : SINTER_F32;
      for (int32_t i = 0; i < model->num_params; ++i)
        if (model->params[i].dtype != dtype) return nullptr;
      in->optimizer = sinter::rt::Optimizer::create(model->train, sizes, dtype);
    }
    return in.release();
  } catch (...) {
    return nullptr;
  }
}

void sinter_destroy(sinter_instance* in) { delete in; }

const char* sinter_last_error(const sinter_instance* in) { return in ? in->error.c_str() : "instance is NULL"; }

sinter_status sinter_forward(sinter_instance* in, int64_t batch, const void* const* inputs, void* const* outputs) {
  return guarded(in, [&] {
    const sinter_model_desc& m = *in->model;
    checkBatch(batch);
    checkPointers(inputs, m.num_inputs, m.inputs, "inputs");
    checkPointers(outputs, m.num_outputs, m.outputs, "outputs");
    std::vector<void*> buffers;
    for (int32_t i = 0; i < m.num_inputs; ++i) buffers.push_back(const_cast<void*>(inputs[i]));
    for (void* p : in->paramPtrs) buffers.push_back(p);
    for (int32_t i = 0; i < m.num_outputs; ++i) buffers.push_back(outputs[i]);
    std::vector<int64_t> syms(static_cast<size_t>(m.num_syms) + 1, batch);  // forward draws nothing: no seed
    syms.back() = 0;
    m.forward(buffers.data(), syms.data());
    return SINTER_OK;
  });
}

sinter_status sinter_train_step(sinter_instance* in, int64_t batch, const void* const* inputs, float* loss) {
  return guarded(in, [&] {
    const sinter_model_desc& m = *in->model;
    if (!m.train_step || !in->optimizer) throw ArgumentError(std::string("model '") + m.name + "' has no train block");
    checkBatch(batch);
    checkPointers(inputs, m.num_inputs, m.inputs, "inputs");
    double slot = 0;  // the loss, in the loss output's dtype
    std::vector<void*> buffers;
    for (int32_t i = 0; i < m.num_inputs; ++i) buffers.push_back(const_cast<void*>(inputs[i]));
    for (void* p : in->paramPtrs) buffers.push_back(p);
    buffers.push_back(&slot);
    for (void* g : in->gradPtrs) buffers.push_back(g);
    // sym_dims: the batch for every symbol, then a fresh seed for this step's random ops.
    std::vector<int64_t> syms(static_cast<size_t>(m.num_syms) + 1, batch);
    syms.back() = static_cast<int64_t>(in->seed * 0x9E3779B97F4A7C15ull + ++in->steps);
    m.train_step(buffers.data(), syms.data());
    const double value = sinter::rt::floatAt(&slot, m.outputs[m.loss_output].dtype, 0);
    if (loss) *loss = static_cast<float>(value);
    if (!std::isfinite(value)) {
      in->error = "the loss is " + std::to_string(value) + "; the weights were not updated";
      return SINTER_ERROR_NONFINITE;
    }
    in->optimizer->step(in->paramPtrs.data(), in->gradPtrs.data());
    return SINTER_OK;
  });
}

float* sinter_param_data(sinter_instance* in, int32_t index) {
  if (!in || index < 0 || index >= in->model->num_params || in->model->params[index].dtype != SINTER_F32) return nullptr;
  return static_cast<float*>(in->paramPtrs[static_cast<size_t>(index)]);
}

double* sinter_param_data_f64(sinter_instance* in, int32_t index) {
  if (!in || index < 0 || index >= in->model->num_params || in->model->params[index].dtype != SINTER_F64) return nullptr;
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

sinter_status sinter_save_weights(sinter_instance* in, const char* path) {
  return guarded(in, [&] {
    if (!path) throw ArgumentError("path is NULL");
    sinter::rt::saveCheckpoint(path, *in->model, in->paramPtrs.data());
    return SINTER_OK;
  });
}

sinter_status sinter_load_weights(sinter_instance* in, const char* path) {
  return guarded(in, [&] {
    if (!path) throw ArgumentError("path is NULL");
    sinter::rt::loadCheckpoint(path, *in->model, in->paramPtrs.data());
    return SINTER_OK;
  });
}

}  // extern "C"
