/* What the C benchmark programs share: the clock and the sampling protocol (at least MIN_SAMPLES samples of at
 * least MIN_SAMPLE_US each; torch_models.py follows the same protocol for the PyTorch peer). */
#ifndef SINTER_BENCH_SAMPLING_H
#define SINTER_BENCH_SAMPLING_H

#include <stdio.h>
#include <stdlib.h>
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

/* The protocol itself: a warm-up of at least 3 calls and a tenth of the budget (caches, the thread pool and
 * optimizer state reach their steady state; its mean sizes the repetitions of a sample), then samples of
 * `*reps` calls each until max_samples or `seconds` have passed, at least MIN_SAMPLES. t receives the time
 * per call of each sample, sorted. Returns the number of samples, or 0 when a call failed (call returns 0). */
static long take_samples(int (*call)(void* ctx), void* ctx, double seconds, long max_samples, double* t, long* reps) {
  long warm = 0;
  const double w0 = now_us();
  while (warm < 3 || now_us() - w0 < seconds * 1e5) {
    if (!call(ctx)) return 0;
    ++warm;
  }
  const double per_call = (now_us() - w0) / warm;
  *reps = per_call >= MIN_SAMPLE_US ? 1 : (long)(MIN_SAMPLE_US / per_call) + 1;
  long n = 0;
  const double t_end = now_us() + seconds * 1e6;
  while (n < max_samples && (n < MIN_SAMPLES || now_us() < t_end)) {
    const double t0 = now_us();
    for (long r = 0; r < *reps; ++r)
      if (!call(ctx)) return 0;
    t[n++] = (now_us() - t0) / *reps;
  }
  qsort(t, n, sizeof *t, cmp);
  return n;
}

/* The arguments every benchmark program starts with, MAX_SAMPLES SECONDS, then at least one item (`items`
 * names them in the usage line). Returns 0 after printing the usage when they are missing or out of range. */
static inline int parse_budget(int argc, char** argv, const char* items, long* max_samples, double* seconds) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MAX_SAMPLES SECONDS %s\n", argv[0], items);
    return 0;
  }
  *max_samples = atol(argv[1]);
  *seconds = atof(argv[2]);
  return *max_samples >= MIN_SAMPLES;
}

#endif
