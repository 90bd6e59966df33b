/* Times a compiled model's training step through the C API: random inputs of the model's shapes (labels
 * in range), `warmup` steps, then `steps` timed one by one; prints the median and quartiles in
 * microseconds as JSON. Usage: train_step BATCH STEPS WARMUP CLASSES THREADS */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model.h"

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s BATCH STEPS WARMUP CLASSES THREADS\n", argv[0]);
    return 2;
  }
  const long batch = atol(argv[1]), steps = atol(argv[2]), warmup = atol(argv[3]), classes = atol(argv[4]);
  sinter_set_threads(atoi(argv[5]));
  const sinter_model_desc* m = &sinter_model;
  void* inputs[16];
  if (m->num_inputs > 16) return 2;
  unsigned s = 12345;
  for (int i = 0; i < m->num_inputs; ++i) {
    const long n = (long)sinter_tensor_elements(&m->inputs[i], batch);
    if (m->inputs[i].dtype == SINTER_I32) {
      int32_t* p = malloc(n * sizeof *p);
      for (long k = 0; k < n; ++k) p[k] = (int32_t)((s = s * 1664525u + 1013904223u) >> 8) % classes;
      inputs[i] = p;
    } else {
      float* p = malloc(n * sizeof *p);
      for (long k = 0; k < n; ++k) p[k] = (float)((s = s * 1664525u + 1013904223u) >> 8) / 16777216.0f;
      inputs[i] = p;
    }
  }
  sinter_instance* inst = sinter_create(m, 1);
  if (!inst) return 1;
  double* t = malloc(steps * sizeof *t);
  float loss = 0;
  for (long i = 0; i < warmup + steps; ++i) {
    const double t0 = now_us();
    if (sinter_train_step(inst, batch, (const void* const*)inputs, &loss) != SINTER_OK) {
      fprintf(stderr, "train step failed: %s\n", sinter_last_error(inst));
      return 1;
    }
    if (i >= warmup) t[i - warmup] = now_us() - t0;
  }
  qsort(t, steps, sizeof *t, cmp);
  printf("{\"median_us\": %.2f, \"p25_us\": %.2f, \"p75_us\": %.2f, \"loss\": %.5f}\n", t[steps / 2], t[steps / 4],
         t[3 * steps / 4], loss);
  sinter_destroy(inst);
  return 0;
}
