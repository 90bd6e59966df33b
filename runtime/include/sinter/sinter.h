/* Sinter's C API: run and train a compiled model from C, C++ or anything with a C FFI.
 *
 * A model compiled with `sinter build MODEL --emit shared` (or `static`, `obj`) exports a constant
 * sinter_model_desc; `sinter build MODEL --emit header` writes a header with typed wrappers around the
 * functions below. An instance owns its weights, gradients, optimizer state, scratch memory and error
 * message, so two instances (of one model or of two) can run in two threads at once; one instance serves
 * one thread at a time. Every function that can fail returns a sinter_status; the instance's last error
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
  SINTER_ERROR_ARGUMENT = 1,  /* a NULL pointer, a bad batch size, kind or index, overlapping outputs, a label
                                 out of range */
  SINTER_ERROR_IO = 2,        /* a file could not be read or written */
  SINTER_ERROR_MISMATCH = 3,  /* weights of another model, or a malformed file */
  SINTER_ERROR_NONFINITE = 4, /* the loss became NaN or infinite (the weights were not updated), or the
                                 update made a weight NaN or infinite (the message names the param; the
                                 weights then hold those values: load good ones back) */
  SINTER_ERROR_MEMORY = 5     /* out of memory */
} sinter_status;

typedef struct sinter_instance sinter_instance;

/* The version of the runtime, e.g. "0.1". */
SINTER_API const char* sinter_version(void);

/* A new instance with its params initialized from `seed` by the model's initializers, and the optimizer
 * of the model's train block. NULL only when out of memory, `model` is NULL, malformed or of another ABI
 * version, or a trainable model mixes f32 and f64 params (the optimizer works in one dtype);
 * sinter_last_error(NULL) then says which. */
SINTER_API sinter_instance* sinter_create(const sinter_model_desc* model, uint64_t seed);
SINTER_API void sinter_destroy(sinter_instance* instance);

/* The message of the instance's last error ("" when the last call succeeded), valid until its next call.
 * With instance NULL: why the calling thread's last sinter_create returned NULL. Each instance has its own
 * message, so threads that use different instances never see each other's errors. */
SINTER_API const char* sinter_last_error(const sinter_instance* instance);

/* Number of elements of a tensor of the model for a batch size (symbolic dimensions = batch). */
SINTER_API int64_t sinter_tensor_elements(const sinter_tensor_desc* tensor, int64_t batch);

/* Shape queries. Tensors are numbered per kind in the model's order (model->inputs, params, outputs), the
 * order of the buffers that sinter_forward takes; a generated header names these numbers
 * (<Model>_INPUT_<name>, <Model>_PARAM_<name>, <Model>_OUTPUT_<name>). */
typedef enum sinter_tensor_kind { SINTER_INPUT = 0, SINTER_PARAM = 1, SINTER_OUTPUT = 2 } sinter_tensor_kind;

/* One tensor at one batch size. */
typedef struct sinter_tensor_info {
  const char* name; /* the model's name for it, e.g. "fc1.w"; valid while the model is loaded */
  int32_t dtype;    /* enum sinter_dtype */
  int32_t rank;
  int64_t elements; /* the product of the dims */
  int64_t bytes;    /* elements times the dtype's size: what a buffer for it must hold */
} sinter_tensor_info;

/* How many tensors of `kind` (enum sinter_tensor_kind) the model has; -1 for a NULL instance or an unknown
 * kind. */
SINTER_API int32_t sinter_num_tensors(sinter_instance* instance, int32_t kind);

/* Tensor `index` of `kind` at batch size `batch` (>= 1; every symbolic dimension takes it, params have
 * none): fills *info and, when dims is not NULL, dims[0 .. rank) with its extents. `capacity` is the length
 * of dims, which must be at least the rank. SINTER_ERROR_ARGUMENT for a NULL instance or info, an unknown
 * kind, an index out of range, a bad batch or a capacity below the rank; nothing is written then. */
SINTER_API sinter_status sinter_tensor_shape(sinter_instance* instance, int32_t kind, int32_t index, int64_t batch,
                                             sinter_tensor_info* info, int64_t* dims, int32_t capacity);

/* forward: inputs[i] points to input i (model->inputs, batch rows), outputs[i] receives output i. An output
 * buffer that overlaps another output, an input or a param is SINTER_ERROR_ARGUMENT, and so is a label out
 * of range (as for sinter_train_step); buffer sizes are the caller's to get right (sinter_tensor_shape
 * gives them). */
SINTER_API sinter_status sinter_forward(sinter_instance* instance, int64_t batch, const void* const* inputs,
                                        void* const* outputs);

/* One training step on a batch: computes the loss and the gradients, then applies the optimizer. The loss
 * is written to *loss when loss is not NULL (rounded to float for an f64 model, whose weights, gradients and
 * optimizer state stay f64). Labels (an i32 [batch] input of a model with a [batch, classes] prediction)
 * outside [0, classes) are SINTER_ERROR_ARGUMENT naming the sample, and nothing changes. After the update
 * every weight is checked: a NaN or an infinity is SINTER_ERROR_NONFINITE naming the param. */
SINTER_API sinter_status sinter_train_step(sinter_instance* instance, int64_t batch, const void* const* inputs,
                                           float* loss);

/* sinter_train_step in two halves, for a caller with its own communication (MPI, NCCL, Horovod-like
 * data-parallel training): sinter_compute_gradients runs the forward and backward pass of a batch (checks and
 * *loss as sinter_train_step) and leaves the gradients, the mean over the batch, in the flat buffer of
 * sinter_gradients; the caller may change them there (e.g. sum them over processes and divide by the number
 * of processes); sinter_apply_gradients then runs the optimizer on them (and commits the model's states,
 * such as BatchNorm's running statistics), once: a second apply without a new compute is
 * SINTER_ERROR_ARGUMENT. compute followed by apply is sinter_train_step, bit for bit. A non-finite loss is
 * SINTER_ERROR_NONFINITE and leaves nothing to apply. */
SINTER_API sinter_status sinter_compute_gradients(sinter_instance* instance, int64_t batch, const void* const* inputs,
                                                  float* loss);
SINTER_API sinter_status sinter_apply_gradients(sinter_instance* instance);

/* The flat gradient buffer of the trained params (the model's params but its states), in param order, each
 * gradient starting at a 64-byte boundary; the gaps between them are zero and must stay zero (a sum over
 * processes keeps them so). Its elements are of the params' dtype (float, or double for an f64 model);
 * *elements (when not NULL) receives its length, gaps included. The buffer lives as long as the instance.
 * NULL (and 0) for a NULL instance or a model without a train block. */
SINTER_API void* sinter_gradients(sinter_instance* instance, int64_t* elements);

/* What sinter_evaluate measures on a batch: the metrics of the model's train block (its `metrics` list;
 * model_abi.h, enum sinter_metric), computed as the training driver computes them for its validation and
 * test splits. To evaluate a data set batch by batch, sum loss * count and correct, then divide by the
 * total count. */
typedef struct sinter_metrics {
  int32_t metrics; /* bits of enum sinter_metric: which of the fields below hold a value */
  int32_t reserved;
  int64_t count;   /* samples evaluated: the batch */
  double loss;     /* SINTER_METRIC_LOSS (always): the loss output, the mean over the batch */
  double accuracy; /* SINTER_METRIC_ACCURACY: correct / count; NaN when not measured */
  int64_t correct; /* SINTER_METRIC_ACCURACY: samples whose largest prediction (the first of equal ones) is
                        the label; 0 when not measured */
} sinter_metrics;

/* Evaluates a batch: inputs as for sinter_forward (targets, such as labels, are inputs of the model), any
 * batch size. Runs the forward pass only: weights, optimizer state and the train step count are untouched,
 * and no dropout is drawn. Accuracy is measured when the train block lists it (the default) and the model
 * has an i32 [batch] labels input and a [batch, classes] prediction output; the labels must then be in
 * [0, classes). SINTER_ERROR_ARGUMENT for a model without a train block (it has no loss), a NULL pointer, a
 * bad batch or a label out of range; *metrics is written only on success. */
SINTER_API sinter_status sinter_evaluate(sinter_instance* instance, int64_t batch, const void* const* inputs,
                                         sinter_metrics* metrics);

/* Param i's data (model->params[i], fixed dims), for reading or writing weights in place; NULL when i is
 * out of range or the param is not f32 (respectively f64). */
SINTER_API float* sinter_param_data(sinter_instance* instance, int32_t index);
SINTER_API double* sinter_param_data_f64(sinter_instance* instance, int32_t index);

/* The optimizer's learning rate from the next train step on (the train block's lr until then; the C API
 * applies no schedule). A param group's rate keeps its ratio to it: a group of lr 3e-3 under an optimizer
 * of lr 1e-3 runs at 3 * lr. */
SINTER_API sinter_status sinter_set_learning_rate(sinter_instance* instance, float lr);

/* Threads the kernels of every model in this process may use, the caller included; 0 restores the default
 * (the SINTER_NUM_THREADS environment variable, else the machine's hardware threads). Results are the same
 * bits for any count: threads split independent outputs, never a sum. Returns the count now in effect. */
SINTER_API int sinter_set_threads(int threads);

/* Denormals: the calls that run the model (sinter_forward, sinter_train_step, sinter_compute_gradients,
 * sinter_apply_gradients, sinter_evaluate) flush denormal floats to zero by default, as `sinter train` and
 * `sinter run` do (FTZ and DAZ in MXCSR on x86-64, for the call's duration and on the threads it uses; the
 * caller's mode is restored before the call returns). Denormal arithmetic is up to 100x slower on x86, and
 * an optimizer's moments decay into that range when a gradient stays zero. enable = 0 keeps denormals
 * (exact IEEE arithmetic, slower), 1 flushes them again. No effect on other architectures. */
SINTER_API sinter_status sinter_set_flush_denormals(sinter_instance* instance, int enable);

/* Weights as safetensors files (the format of checkpoints; written atomically, with a CRC-32 of each tensor
 * in the metadata). Saving through a symbolic link replaces the link's target and keeps the link; a path
 * that is a device node, FIFO, socket or directory is SINTER_ERROR_IO and is left alone. Loading checks the
 * whole file against the model first (the params' names, dtypes and shapes, and the offsets; nothing else of the
 * model, so the weights of a model trained with a loss load into its label-free twin), then each tensor's CRC-32 and that every value is finite: another model's weights, a corrupt
 * file or non-finite weights fail with SINTER_ERROR_MISMATCH naming the tensor, an unreadable file with
 * SINTER_ERROR_IO, and a failed load leaves every weight as it was. */
SINTER_API sinter_status sinter_save_weights(sinter_instance* instance, const char* path);
SINTER_API sinter_status sinter_load_weights(sinter_instance* instance, const char* path);

/* Standardization of the samples. Weights that `sinter train --normalize standard` saved carry the
 * statistics it fitted on the training set (the f32 tensors "normalize/mean" and "normalize/inv_std"
 * [features], and the metadata "sinter_normalize": "standard"). sinter_load_weights loads them with the
 * weights, and from then on sinter_forward, sinter_evaluate, sinter_train_step and sinter_compute_gradients
 * standardize the model's first input (the samples: a floating [batch, ...] of `features` values per sample)
 * as training did, x' = (x - mean[j]) * inv_std[j], into a buffer of the instance; the caller's buffer is not
 * changed. So the samples are given as the training data held them (IDX pixels as floats in [0, 1], CSV values
 * as they are). Loading weights without statistics drops them; sinter_save_weights saves them with the
 * weights. Weights with statistics for a model whose first input is not such a tensor, or of another size,
 * fail to load with SINTER_ERROR_MISMATCH. */

/* The statistics in effect: their number of features (0 when none), and, when mean and inv_std are not NULL,
 * pointers to them (NULL when none), valid until the next sinter_load_weights or sinter_set_normalizer. */
SINTER_API int64_t sinter_get_normalizer(sinter_instance* instance, const float** mean, const float** inv_std);

/* Sets the statistics (copied), for samples standardized elsewhere or by other means; mean and inv_std both
 * NULL drop them, so the samples run as the caller gives them. SINTER_ERROR_ARGUMENT when only one is NULL,
 * `features` is not the first input's values per sample, or a value is not finite. */
SINTER_API sinter_status sinter_set_normalizer(sinter_instance* instance, const float* mean, const float* inv_std,
                                               int64_t features);

#ifdef __cplusplus
}
#endif

#endif /* SINTER_SINTER_H */
