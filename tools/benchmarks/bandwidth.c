/* The machine's read bandwidth at a working-set size: the ceiling of a batch-1 inference, which reads every
 * weight once per call and does little arithmetic with each. Every thread sums its share of one buffer with
 * ACCUMULATORS independent vector sums on the widest vector the compiler targets, so that neither the add
 * latency nor anything but the loads limits the rate; a buffer that fits L2 measures L2, one that fits L3 but
 * not L2 measures L3, one several times L3 measures DRAM. Timed with the protocol of tools/benchmarks/
 * sampling.h; tools/bench picks the sizes from the cache sizes lscpu reports.
 *
 *   bandwidth MAX_SAMPLES SECONDS BYTES:THREADS...
 *
 * Prints one JSON line per BYTES:THREADS. Its GB/s (10^9 bytes per second) come from the fastest sample, not
 * the median, as fma_peak.c's do: the bandwidth is what the machine can do, and other processes only ever
 * slow a sample down. Build it with -O2 -march=native -fopenmp. */
#define _POSIX_C_SOURCE 200112L
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "sampling.h"
#include "widest_vector.h"

/* Two loads a cycle and an add latency of 2 to 4 cycles: 8 sums in flight keep the loads the limit. */
enum { ACCUMULATORS = 8 };

static volatile float sink; /* keeps the sums alive */

static float sum(const vec* p, long n) {
  vec acc[ACCUMULATORS] = {{0}};
  for (long k = 0; k + ACCUMULATORS <= n; k += ACCUMULATORS) {
#pragma GCC unroll 8
    for (int i = 0; i < ACCUMULATORS; ++i) acc[i] += p[k + i];
  }
  float s = 0;
  for (int i = 0; i < ACCUMULATORS; ++i)
    for (int l = 0; l < VECTOR_BYTES / 4; ++l) s += acc[i][l];
  return s;
}

struct Probe {
  vec* buffer;
  long vectors; /* in the whole buffer */
  int threads;
  long passes; /* over the buffer per call: a call reads at least PASS_BYTES */
};

/* Bytes a call reads at least: a few hundred microseconds at L2's speed, so that starting the parallel region
 * (a microsecond or more, more when a passive thread wakes) does not count against a small buffer. */
static const long PASS_BYTES = 32L << 20;

static int read_call(void* ctx) {
  const struct Probe* p = ctx;
#pragma omp parallel num_threads(p->threads)
  {
    /* Each thread reads its own contiguous share, as a partitioned product reads its rows. */
    const long share = p->vectors / p->threads, first = share * omp_get_thread_num();
    float s = 0;
    for (long k = 0; k < p->passes; ++k) {
      s += sum(p->buffer + first, share);
      __asm__ volatile("" ::: "memory"); /* every pass reads the buffer again: the compiler may not reuse a sum */
    }
#pragma omp critical
    sink += s;
  }
  return 1;
}

int main(int argc, char** argv) {
  long max_samples = 0;
  double seconds = 0;
  if (!parse_budget(argc, argv, "BYTES:THREADS...", &max_samples, &seconds)) return 2;
  double* t = malloc(max_samples * sizeof *t);
  for (int i = 3; i < argc; ++i) {
    long bytes = 0;
    int threads = 0;
    if (sscanf(argv[i], "%ld:%d", &bytes, &threads) != 2 || threads < 1 ||
        bytes < (long)VECTOR_BYTES * ACCUMULATORS * threads) {
      fprintf(stderr, "bandwidth: bad probe '%s' (BYTES:THREADS, at least %d bytes a thread)\n", argv[i],
              VECTOR_BYTES * ACCUMULATORS);
      return 2;
    }
    /* Whole blocks of ACCUMULATORS vectors per thread, so that every byte counted is read. */
    const long block = (long)ACCUMULATORS * threads;
    struct Probe p = {NULL, bytes / VECTOR_BYTES / block * block, threads, 1};
    p.passes = (PASS_BYTES + p.vectors * VECTOR_BYTES - 1) / (p.vectors * VECTOR_BYTES);
    if (posix_memalign((void**)&p.buffer, 4096, p.vectors * VECTOR_BYTES)) return 1;
    for (long k = 0; k < p.vectors; ++k) p.buffer[k] = (vec){0} + (float)(k & 7);
    long reps = 1;
    const long n = take_samples(read_call, &p, seconds, max_samples, t, &reps);
    const double read = (double)p.vectors * VECTOR_BYTES * p.passes;
    printf(
        "{\"bytes\": %ld, \"threads\": %d, \"passes\": %ld, \"median_us\": %.3f, \"samples\": %ld, \"reps\": %ld, \"best_us\": %.3f, "
        "\"gbps\": %.2f, \"vector_bits\": %d}\n",
        p.vectors * VECTOR_BYTES, threads, p.passes, t[n / 2], n, reps, t[0], read / (t[0] * 1e3), VECTOR_BYTES * 8);
    fflush(stdout);
    free(p.buffer);
  }
  free(t);
  return 0;
}
