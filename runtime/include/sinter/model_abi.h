/* The contract between code that Sinter generates and the runtime that drives it.
 *
 * Every compiled model exports one constant `sinter_model_desc` (named `sinter_model` in a training
 * executable) that describes its tensors, its entry points and its training configuration. The
 * runtime reads nothing else from the model. Plain C so that any language with a C FFI can use it. */
#ifndef SINTER_MODEL_ABI_H
#define SINTER_MODEL_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SINTER_ABI_VERSION 1

enum sinter_dtype { SINTER_F32 = 0, SINTER_F64 = 1, SINTER_I32 = 2 };

enum sinter_init_kind {
  SINTER_INIT_ZEROS = 0,
  SINTER_INIT_ONES = 1,
  SINTER_INIT_CONSTANT = 2,       /* every element = a */
  SINTER_INIT_UNIFORM = 3,        /* U[a, b) */
  SINTER_INIT_NORMAL = 4,         /* N(mean a, std b) */
  SINTER_INIT_GLOROT_UNIFORM = 5, /* U[-l, l), l = sqrt(6 / (fan_in + fan_out)) */
  SINTER_INIT_HE_NORMAL = 6,      /* N(0, sqrt(2 / fan_in)) */
  SINTER_INIT_LECUN_UNIFORM = 7   /* U[-l, l), l = 1 / sqrt(fan_in): torch.nn.Linear's default */
};

typedef struct sinter_tensor_desc {
  const char* name;
  int32_t dtype; /* enum sinter_dtype */
  int32_t rank;
  const int64_t* dims; /* dims[i] >= 0: a fixed extent; dims[i] < 0: symbolic dimension number -dims[i]-1 */
  int32_t init;        /* enum sinter_init_kind (params only) */
  float init_a;
  float init_b;
} sinter_tensor_desc;

enum sinter_optimizer_kind { SINTER_OPT_SGD = 0, SINTER_OPT_ADAM = 1 };

typedef struct sinter_train_config {
  int32_t optimizer; /* enum sinter_optimizer_kind */
  int32_t nesterov;  /* sgd: 1 for Nesterov momentum */
  float lr;
  float momentum;    /* sgd */
  float beta1;       /* adam */
  float beta2;       /* adam */
  float eps;         /* adam */
  float weight_decay;
  int64_t batch;
  int64_t epochs;
  uint64_t seed;
} sinter_train_config;

/* A generated entry point. buffers holds one pointer per tensor in ABI order (see below); sym_dims holds
 * the value of every symbolic dimension, in the order of sinter_model_desc.sym_names. */
typedef void (*sinter_entry_fn)(void* const* buffers, const int64_t* sym_dims);

typedef struct sinter_model_desc {
  int32_t abi_version; /* SINTER_ABI_VERSION */
  int32_t num_syms;
  const char* name;
  const char* const* sym_names;
  int32_t num_inputs;
  int32_t num_params;
  int32_t num_outputs;
  int32_t loss_output; /* index into outputs of the training loss, -1 without a train block */
  const sinter_tensor_desc* inputs;
  const sinter_tensor_desc* params;
  const sinter_tensor_desc* outputs;
  /* forward: buffers = inputs..., params..., outputs... */
  sinter_entry_fn forward;
  /* train_step: buffers = inputs..., params..., loss (one f32), grads... (one per param, param order).
   * Computes the loss and the gradients; the runtime's optimizer then updates the params. NULL without
   * a train block. */
  sinter_entry_fn train_step;
  int32_t has_train;
  int32_t reserved;
  sinter_train_config train;
} sinter_model_desc;

/* The training driver: parses argv (see --help), trains, evaluates and checkpoints. Returns the process
 * exit status. A training executable's main() is one call of this. */
int sinter_train_main(const sinter_model_desc* model, int argc, char** argv);

#ifdef __cplusplus
}
#endif

#endif /* SINTER_MODEL_ABI_H */
