/* Sinter's C API: run and train a compiled model from C, C++ or anything with a C FFI.
 *
 * A model compiled with `sinter build MODEL --emit shared` (or `static`, `obj`) exports a constant
 * sinter_model_desc; `sinter build MODEL --emit header` writes a header with typed wrappers around the
 * functions below. An instance owns its weights, gradients and optimizer state, so two instances can run
 * in two threads at once. Every function that can fail returns a sinter_status; the instance's last error
 * message says what went wrong. No function aborts or exits the process. */
#ifndef SINTER_SINTER_H
#define SINTER_SINTER_H

#include <stdint.h>

#include "model_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sinter_status {
  SINTER_OK = 0,
  SINTER_ERROR_ARGUMENT = 1,  /* a NULL pointer, a bad batch size or index */
  SINTER_ERROR_IO = 2,        /* a file could not be read or written */
  SINTER_ERROR_MISMATCH = 3,  /* weights of another model, or a malformed file */
  SINTER_ERROR_NONFINITE = 4  /* the loss became NaN or infinite; the weights were not updated */
} sinter_status;

typedef struct sinter_instance sinter_instance;

/* A new instance with its params initialized from `seed` by the model's initializers, and the optimizer
 * of the model's train block. NULL only when out of memory, `model` is NULL or of another ABI version, or
 * a trainable model mixes f32 and f64 params (the optimizer works in one dtype). */
sinter_instance* sinter_create(const sinter_model_desc* model, uint64_t seed);
void sinter_destroy(sinter_instance* instance);

/* The message of the instance's last error ("" when the last call succeeded). Valid until the next call. */
const char* sinter_last_error(const sinter_instance* instance);

/* Number of elements of a tensor of the model for a batch size (symbolic dimensions = batch). */
int64_t sinter_tensor_elements(const sinter_tensor_desc* tensor, int64_t batch);

/* forward: inputs[i] points to input i (model->inputs, batch rows), outputs[i] receives output i. */
sinter_status sinter_forward(sinter_instance* instance, int64_t batch, const void* const* inputs, void* const* outputs);

/* One training step on a batch: computes the loss and the gradients, then applies the optimizer. The loss
 * is written to *loss when loss is not NULL (rounded to float for an f64 model, whose weights, gradients and
 * optimizer state stay f64). */
sinter_status sinter_train_step(sinter_instance* instance, int64_t batch, const void* const* inputs, float* loss);

/* Param i's data (model->params[i], fixed dims), for reading or writing weights in place; NULL when i is
 * out of range or the param is not f32 (respectively f64). */
float* sinter_param_data(sinter_instance* instance, int32_t index);
double* sinter_param_data_f64(sinter_instance* instance, int32_t index);

sinter_status sinter_set_learning_rate(sinter_instance* instance, float lr);

/* Threads the kernels of every model in this process may use, the caller included; 0 restores the default
 * (the SINTER_NUM_THREADS environment variable, else the machine's hardware threads). Results are the same
 * bits for any count: threads split independent outputs, never a sum. Returns the count now in effect. */
int sinter_set_threads(int threads);

/* Weights as safetensors files (the format of checkpoints; written atomically). */
sinter_status sinter_save_weights(sinter_instance* instance, const char* path);
sinter_status sinter_load_weights(sinter_instance* instance, const char* path);

#ifdef __cplusplus
}
#endif

#endif /* SINTER_SINTER_H */
