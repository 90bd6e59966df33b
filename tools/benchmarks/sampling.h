/* What the C benchmark programs share: the clock and the sampling protocol (at least MIN_SAMPLES samples of at
 * least MIN_SAMPLE_US each; torch_models.py follows the same protocol for the PyTorch peer). */
#ifndef SINTER_BENCH_SAMPLING_H
#define SINTER_BENCH_SAMPLING_H

#include <time.h>

enum { MIN_SAMPLES = 5 };
static const double MIN_SAMPLE_US = 200.0;

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

/* qsort order for doubles, for medians and quartiles. */
static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

#endif
