/* The contract between code that Sinter generates and the runtime that drives it.
 *
 * Every compiled model exports one constant `sinter_model_desc` that describes its tensors, its entry
 * points and its training configuration: `<Model>_model` in a library or object file (`sinter build
 * --symbol-prefix P` makes it `P<Model>_model`), `sinter_model` in a training executable. The runtime
 * reads nothing else from the model. Plain C so that any language with a C FFI can use it. */
#ifndef SINTER_MODEL_ABI_H
#define SINTER_MODEL_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SINTER_ABI_VERSION 8

/* The functions a library exports. The runtime is compiled with -fvisibility=hidden: only what is marked so
 * (the C API, the training driver's entry point) is visible outside a shared library. */
#if defined(__GNUC__)
#define SINTER_API __attribute__((visibility("default")))
#else
#define SINTER_API
#endif

enum sinter_dtype { SINTER_F32 = 0, SINTER_F64 = 1, SINTER_I32 = 2 };

enum sinter_init_kind {
  SINTER_INIT_ZEROS = 0,
  SINTER_INIT_ONES = 1,
  SINTER_INIT_CONSTANT = 2,       /* every element = a */
  SINTER_INIT_UNIFORM = 3,        /* U[a, b) */
  SINTER_INIT_NORMAL = 4,         /* N(mean a, std b) */
  SINTER_INIT_GLOROT_UNIFORM = 5, /* U[-l, l), l = sqrt(6 / (fan_in + fan_out)) */
  SINTER_INIT_HE_NORMAL = 6,      /* N(0, sqrt(2 / fan_in)) */
  SINTER_INIT_LECUN_UNIFORM = 7,  /* U[-l, l), l = 1 / sqrt(fan_in): torch.nn.Linear's default */
  SINTER_INIT_GLOROT_NORMAL = 8,  /* N(0, sqrt(2 / (fan_in + fan_out))) */
  SINTER_INIT_HE_UNIFORM = 9,     /* U[-l, l), l = sqrt(6 / fan_in) */
  SINTER_INIT_DATA = 10           /* the values sinter_model_desc.param_init_data gives (ABI version 7) */
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

enum sinter_optimizer_kind {
  SINTER_OPT_SGD = 0,
  SINTER_OPT_ADAM = 1,
  SINTER_OPT_ADAMW = 2, /* Adam with decoupled weight decay (Loshchilov & Hutter) */
  SINTER_OPT_RMSPROP = 3,
  SINTER_OPT_ADAGRAD = 4
};

/* Learning-rate schedules; every kind is multiplied by a linear warm-up when warmup_steps > 0. For LINEAR
 * and ONE_CYCLE, t counts optimizer steps from 0 and T is the run's optimizer steps, or with
 * sched_per_epoch t is the epoch from 0 and T the run's epochs (docs/training.md has the formulas). */
enum sinter_schedule_kind {
  SINTER_SCHED_CONSTANT = 0,
  SINTER_SCHED_STEP = 1,        /* lr * gamma^floor(epoch / step_size), epochs counted from 0 */
  SINTER_SCHED_EXPONENTIAL = 2, /* lr * gamma^epoch */
  SINTER_SCHED_COSINE = 3,      /* min_lr + (lr - min_lr) (1 + cos(pi t / T)) / 2 over all T optimizer steps */
  SINTER_SCHED_LINEAR = 4,      /* torch's LinearLR: lr * (start + (end - start) min(t, n) / n), n = total_iters or T */
  SINTER_SCHED_ONE_CYCLE = 5    /* torch's OneCycleLR (cosine annealing, no momentum cycling), max_lr = lr */
};

/* What the training driver reports per epoch, as bits of sinter_train_config.metrics. The loss is always
 * reported; a mask of 0 (a train block without `metrics`) means the task's: loss and accuracy for class
 * labels, loss, MAE, RMSE and R^2 for floating targets. The bits after ACCURACY came after ABI version 4
 * without changing the layout: a runtime that does not know them ignores them. */
enum sinter_metric {
  SINTER_METRIC_LOSS = 1,        /* the mean loss of the split */
  SINTER_METRIC_ACCURACY = 2,    /* the fraction of samples whose largest prediction is the label */
  SINTER_METRIC_TOP_K = 4,       /* the fraction whose label is among the k largest predictions (k: --top-k) */
  SINTER_METRIC_MAE = 8,         /* floating targets: mean absolute error over every target value */
  SINTER_METRIC_RMSE = 16,       /* floating targets: root of the mean squared error */
  SINTER_METRIC_R2 = 32,         /* floating targets: 1 - SS_res / SS_tot, averaged over the target's columns */
  SINTER_METRIC_PERPLEXITY = 64, /* exp of the mean loss (for a mean cross-entropy per token) */
  SINTER_METRIC_GRAD_NORM = 128  /* training only: each trained param's gradient L2 norm, mean over the epoch's steps */
};

typedef struct sinter_train_config {
  int32_t optimizer; /* enum sinter_optimizer_kind */
  int32_t nesterov;  /* sgd: 1 for Nesterov momentum */
  float lr;
  float momentum; /* sgd, rmsprop */
  float beta1;    /* adam, adamw */
  float beta2;    /* adam, adamw */
  float eps;      /* adam, adamw, rmsprop, adagrad */
  float weight_decay;
  int64_t batch;
  int64_t epochs;
  uint64_t seed;
  /* Appended in ABI version 2. */
  int32_t amsgrad;           /* adam, adamw: 1 to keep the maximum of v */
  int32_t centered;          /* rmsprop: 1 to divide by the estimated variance */
  float dampening;           /* sgd */
  float alpha;               /* rmsprop: smoothing constant of the squared-gradient average */
  float lr_decay;            /* adagrad */
  float initial_accumulator; /* adagrad */
  float clip_norm;           /* > 0: gradients are scaled so that their global L2 norm is at most clip_norm */
  int32_t schedule;          /* enum sinter_schedule_kind */
  float gamma;               /* step, exponential schedules */
  float min_lr;              /* cosine schedule */
  int64_t step_size;         /* step schedule: epochs between decays */
  int64_t warmup_steps;      /* linear warm-up: lr * min(1, (t + 1) / warmup_steps) at optimizer step t from 0 */
  /* Appended in ABI version 3. */
  int32_t metrics; /* bits of enum sinter_metric; 0: the task's (see enum sinter_metric) */
  /* Appended in ABI version 5. */
  int32_t sched_per_epoch; /* linear, one-cycle: 1 to step the schedule once per epoch instead of per step */
  float start_factor;      /* linear */
  float end_factor;        /* linear */
  float pct_start;         /* one-cycle: the fraction of the cycle spent increasing the rate */
  float div_factor;        /* one-cycle: the initial rate is lr / div_factor */
  float final_div_factor;  /* one-cycle: the final rate is lr / div_factor / final_div_factor */
  int64_t total_iters;     /* linear: steps (epochs) of the ramp; 0: the whole run */
} sinter_train_config;

/* A parameter group (the train block's `group`): params whose optimizer hyper-parameters differ from the
 * train config's, as torch.optim's param groups. config is the train config with the group's overrides;
 * of it the optimizer reads only the hyper-parameters (lr, momentum, dampening, nesterov, betas, eps,
 * weight_decay, amsgrad, alpha, centered, lr_decay, initial_accumulator). A schedule scales a group's rate
 * from config.lr as it scales the train config's from its lr. */
typedef struct sinter_param_group {
  const char* name;
  sinter_train_config config;
} sinter_param_group;

/* A generated entry point. buffers holds one pointer per tensor in ABI order (see below), and no two of
 * them may overlap (generated kernels assume distinct tensors are distinct memory); sym_dims holds
 * the value of every symbolic dimension, in the order of sinter_model_desc.sym_names, followed by one more
 * entry: the seed of the call's random ops (dropout). A train step draws its dropout masks from it, so
 * the caller passes a different value for every step; forward never draws and ignores it. */
typedef void (*sinter_entry_fn)(void* const* buffers, const int64_t* sym_dims);

/* Parallel loops. A generated kernel that is worth splitting (a matrix product, a convolution) is an
 * outlined body that computes iterations [begin, end) of its outer loop from an environment the entry
 * point prepares. The runtime installs a sinter_parallel_for_fn in the model's hook (see
 * sinter_model_desc.parallel_for); it calls body once per chunk of [0, count), chunks contiguous and
 * together covering the range exactly once, on any threads, and returns when all are done. `work` is an
 * estimate of the loop's multiply-adds, so that small loops can stay on the calling thread. With no hook
 * installed (NULL) the generated code runs the whole range itself: a model works without the runtime. */
typedef void (*sinter_parallel_body)(void* env, int64_t begin, int64_t end);
typedef void (*sinter_parallel_for_fn)(sinter_parallel_body body, void* env, int64_t count, int64_t work);

/* Scratch memory of a parallel chunk (a packed panel of a matrix product, a convolution's patch matrix):
 * the runtime installs a sinter_scratch_fn in the model's hook (sinter_model_desc.scratch) that returns at
 * least `bytes` bytes, 64-byte aligned, owned by the calling thread, in one of SINTER_SCRATCH_SLOTS slots;
 * the buffer stays valid until the same thread asks for the same slot again. It is kept between calls, so
 * a kernel does not pay for an allocation (and its page faults) every time. With no hook installed (NULL)
 * the generated code mallocs and frees its scratch itself. */
#define SINTER_SCRATCH_SLOTS 4
typedef void* (*sinter_scratch_fn)(int32_t slot, int64_t bytes);

/* Gradient buckets (ABI version 8), for data-parallel training (docs/distributed.md, "Buckets"). The compiler
 * groups the trained params' gradients into buckets in the order train_step finishes them (the last layer's
 * first), a few hundred KB each (sinter build --grad-bucket-kb), and train_step calls
 * bucket_hook->ready(bucket_hook->ctx, b) on the calling thread right after the kernel that completes bucket
 * b, for b = 0, 1, ... in that order, once each per call. From then on to the end of the call the bucket's
 * gradients are final in their buffers: the hook may read them (and start sending them) but not write them.
 * With ready NULL (as the model is loaded) nothing is called: a model works without the runtime. */
typedef void (*sinter_bucket_ready_fn)(void* ctx, int32_t bucket);
typedef struct sinter_bucket_hook {
  sinter_bucket_ready_fn ready;
  void* ctx;
} sinter_bucket_hook;

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
  const sinter_tensor_desc* params; /* the trained params, then the num_state states (see num_state) */
  const sinter_tensor_desc* outputs;
  /* forward: buffers = inputs..., params..., outputs... */
  sinter_entry_fn forward;
  /* train_step: buffers = inputs..., params..., loss (one value of the loss output's dtype), grads... (one per
   * trained param, param order), next states... (one per state, state order).
   * Computes the loss, the gradients and the states' next values; the runtime's optimizer then updates the
   * trained params, and the runtime copies each next state over its state. NULL without a train block. */
  sinter_entry_fn train_step;
  int32_t has_train;
  /* ABI version 5 (in the place of a reserved 0): the last num_state entries of params are states, buffers
   * such as BatchNorm's running statistics: not trained, saved and loaded with the params, read by forward
   * and replaced by train_step's next states. */
  int32_t num_state;
  sinter_train_config train;
  /* Appended in ABI version 3: the model's own writable hook, NULL until a runtime installs its parallel
   * loop there. Every entry point reads it on each call. */
  sinter_parallel_for_fn* parallel_for;
  /* Appended in ABI version 4: the model's writable scratch hook, NULL until a runtime installs its
   * per-thread scratch there. */
  sinter_scratch_fn* scratch;
  /* Appended in ABI version 5: parameter groups. param_group holds num_params entries when
   * num_param_groups > 0 (NULL otherwise): the index of each param's group, or -1 for a param in none,
   * which follows the train config (every state is in none). */
  int32_t num_param_groups;
  const sinter_param_group* param_groups;
  const int32_t* param_group;
  /* Appended in ABI version 6: the train block's `data` settings, the training driver's data flags as
   * "--name=value" strings, NULL-terminated (NULL without any). They are the defaults of the data flags: a
   * command line that gives any data flag replaces them all. */
  const char* const* data_flags;
  /* Appended in ABI version 7: per param, its initial values (num_params entries; NULL for every param when
   * none has any): for a param whose init is SINTER_INIT_DATA, every element in its dtype, row-major; NULL for
   * the others. An ONNX model imported as a layer starts from its initializers this way (docs/onnx.md). */
  const void* const* param_init_data;
  /* Appended in ABI version 8: the gradient buckets (see sinter_bucket_hook). grad_bucket holds one entry per
   * trained param, the index of its bucket (NULL and num_grad_buckets 0 without a train block); bucket_hook
   * is the model's writable hook, its ready NULL until a runtime installs one. */
  int32_t num_grad_buckets;
  const int32_t* grad_bucket;
  sinter_bucket_hook* bucket_hook;
} sinter_model_desc;

/* The training driver: parses argv (see --help), trains, evaluates and checkpoints. Returns the process
 * exit status. A training executable's main() is one call of this. */
SINTER_API int sinter_train_main(const sinter_model_desc* model, int argc, char** argv);

#ifdef __cplusplus
}
#endif

#endif /* SINTER_MODEL_ABI_H */
