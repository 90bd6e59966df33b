/* Times a compiled model through the C API: its training step (sinter_train_step: forward, backward and
 * optimizer), its inference (sinter_forward) or its gradients (sinter_compute_gradients: forward and backward,
 * no optimizer), on random inputs of the model's shapes, for a list of jobs in one process so that the bench
 * pays process start-up and instance creation once per round.
 *
 *   model_bench MAX_SAMPLES SECONDS JOB...      JOB = train|forward|grad:BATCH:THREADS
 *
 * Each job warms up, then takes samples until MAX_SAMPLES or SECONDS have passed (at least 5 samples). A
 * sample times `reps` calls in a row, reps chosen so that a sample lasts at least 200 us: a small GEMM or a
 * batch-1 forward takes a few microseconds, below what one clock reading can resolve well. Prints one JSON
 * line per job with the median and quartiles of the time per call in microseconds. tools/benchmarks/
 * torch_models.py follows the same protocol for the PyTorch peer. */
#define _POSIX_C_SOURCE 199309L
/* tools/bench defines SINTER_BENCH_MODEL, the descriptor of the model in libmodel.so: <Model>_model. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

#include "sampling.h"

enum { MAX_IO = 16 };

static size_t dtype_size(int32_t dtype) { return dtype == SINTER_F64 ? 8 : 4; }

/* Random inputs for `batch` rows: floats in [0, 1) like normalized pixels, integers as class labels in
 * [0, classes) so that cross-entropy reads valid indices. A fixed generator keeps runs comparable. */
static void* random_tensor(const sinter_tensor_desc* t, long batch, long classes, unsigned* s) {
  const long n = (long)sinter_tensor_elements(t, batch);
  void* p = malloc((n ? n : 1) * dtype_size(t->dtype));
  for (long k = 0; k < n; ++k) {
    *s = *s * 1664525u + 1013904223u;
    if (t->dtype == SINTER_I32) ((int32_t*)p)[k] = (int32_t)((*s >> 8) % classes);
    else if (t->dtype == SINTER_F64) ((double*)p)[k] = (double)(*s >> 8) / 16777216.0;
    else ((float*)p)[k] = (float)(*s >> 8) / 16777216.0f;
  }
  return p;
}

/* The number of classes for the labels: the last extent of the first output (the model's probabilities),
 * 10 when it is symbolic. */
static long class_count(const sinter_model_desc* m) {
  if (m->num_outputs == 0) return 10;
  const sinter_tensor_desc* o = &m->outputs[0];
  const long last = o->rank ? (long)o->dims[o->rank - 1] : 10;
  return last > 0 ? last : 10;
}

enum Mode { FORWARD, TRAIN, GRAD };

static int run_call(sinter_instance* inst, enum Mode mode, long batch, void** in, void** out) {
  float loss;
  const void* const* inputs = (const void* const*)in;
  const sinter_status st = mode == TRAIN  ? sinter_train_step(inst, batch, inputs, &loss)
                           : mode == GRAD ? sinter_compute_gradients(inst, batch, inputs, &loss)
                                          : sinter_forward(inst, batch, inputs, out);
  if (st != SINTER_OK) fprintf(stderr, "model_bench: %s\n", sinter_last_error(inst));
  return st == SINTER_OK;
}

/* One call of a job, for take_samples. */
struct Call {
  sinter_instance* inst;
  enum Mode mode;
  long batch;
  void** in;
  void** out;
};

static int model_call(void* ctx) {
  const struct Call* c = ctx;
  return run_call(c->inst, c->mode, c->batch, c->in, c->out);
}

static int run_job(const char* job, long max_samples, double seconds) {
  char mode[16];
  long batch, threads;
  if (sscanf(job, "%15[a-z]:%ld:%ld", mode, &batch, &threads) != 3 || batch < 1 || threads < 1 ||
      (strcmp(mode, "train") && strcmp(mode, "forward") && strcmp(mode, "grad"))) {
    fprintf(stderr, "model_bench: bad job '%s' (train|forward|grad:BATCH:THREADS)\n", job);
    return 0;
  }
  const enum Mode how = !strcmp(mode, "train") ? TRAIN : !strcmp(mode, "grad") ? GRAD : FORWARD;
  const sinter_model_desc* m = &SINTER_BENCH_MODEL;
  if (m->num_inputs > MAX_IO || m->num_outputs > MAX_IO || (how != FORWARD && !m->has_train)) return 0;
  sinter_set_threads((int)threads);
  unsigned s = 12345;
  void *in[MAX_IO], *out[MAX_IO];
  for (int i = 0; i < m->num_inputs; ++i) in[i] = random_tensor(&m->inputs[i], batch, class_count(m), &s);
  for (int i = 0; i < m->num_outputs; ++i) {
    const long n = (long)sinter_tensor_elements(&m->outputs[i], batch);
    out[i] = malloc((n ? n : 1) * dtype_size(m->outputs[i].dtype));
  }
  sinter_instance* inst = sinter_create(m, 1);
  if (!inst) return 0;

  struct Call call = {inst, how, batch, in, out};
  double* t = malloc(max_samples * sizeof *t);
  long reps = 1;
  const long n = take_samples(model_call, &call, seconds, max_samples, t, &reps);
  if (n == 0) return 0;
  printf(
      "{\"mode\": \"%s\", \"batch\": %ld, \"threads\": %ld, \"median_us\": %.3f, \"p25_us\": %.3f, "
      "\"p75_us\": %.3f, \"samples\": %ld, \"reps\": %ld}\n",
      mode, batch, threads, t[n / 2], t[n / 4], t[3 * n / 4], n, reps);
  fflush(stdout);
  sinter_destroy(inst);
  for (int i = 0; i < m->num_inputs; ++i) free(in[i]);
  for (int i = 0; i < m->num_outputs; ++i) free(out[i]);
  free(t);
  return 1;
}

int main(int argc, char** argv) {
  long max_samples = 0;
  double seconds = 0;
  if (!parse_budget(argc, argv, "JOB...  (JOB = train|forward|grad:BATCH:THREADS)", &max_samples, &seconds))
    return 2;
  for (int i = 3; i < argc; ++i)
    if (!run_job(argv[i], max_samples, seconds)) return 1;
  return 0;
}
