/* The machine's f32 FMA peak, the ceiling the GEMM table's "fraction of peak" columns divide by: every
 * thread runs CHAINS independent chains of vector FMAs (acc = acc * m + a) on the widest vector the compiler
 * targets, so that neither the FMA latency nor anything but the FMA ports limits the rate. Timed with the
 * protocol of tools/benchmarks/sampling.h.
 *
 *   fma_peak MAX_SAMPLES SECONDS THREADS...
 *
 * Prints one JSON line per thread count. Its GFLOP/s come from the fastest sample, not the median: the peak
 * is what the machine can do, and on a shared machine other processes only ever slow a sample down (the
 * median of 2 threads falls to a third of the fastest sample while another process holds a core). Build it with -O2 -march=native -fopenmp -ffp-contract=fast: the
 * last because -std=c11 turns GCC's contraction off, and then acc * m + a would be a multiply and an add. */
#define _POSIX_C_SOURCE 199309L
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "sampling.h"
#include "widest_vector.h"

/* 12 chains cover an FMA latency of 4 to 6 cycles on two ports (Intel's and AMD's cores have 8 to 12 FMAs
 * in flight), and 12 accumulators plus m and a still fit in 16 vector registers. */
enum { CHAINS = 12, LANES = VECTOR_BYTES / 4 };
static const long ITERATIONS = 1L << 18; /* per call and thread: about a millisecond at 100 GFLOP/s */

static volatile float sink; /* keeps the chains' results alive */

static float chains(long iterations) {
  vec acc[CHAINS];
  for (int i = 0; i < CHAINS; ++i) acc[i] = (vec){0} + (float)i;
  /* acc converges to a / (1 - m) = 1: no overflow, no subnormals, whatever the iteration count. */
  const vec m = (vec){0} + 0.999999f, a = (vec){0} + 1e-6f;
  for (long k = 0; k < iterations; ++k) {
#pragma GCC unroll 12
    for (int i = 0; i < CHAINS; ++i) acc[i] = acc[i] * m + a;
  }
  float s = 0;
  for (int i = 0; i < CHAINS; ++i)
    for (int l = 0; l < LANES; ++l) s += acc[i][l];
  return s;
}

static int threads;

static int peak_call(void* ctx) {
  (void)ctx;
#pragma omp parallel num_threads(threads)
  {
    const float s = chains(ITERATIONS);
#pragma omp critical
    sink += s;
  }
  return 1;
}

int main(int argc, char** argv) {
  long max_samples = 0;
  double seconds = 0;
  if (!parse_budget(argc, argv, "THREADS...", &max_samples, &seconds)) return 2;
  double* t = malloc(max_samples * sizeof *t);
  for (int i = 3; i < argc; ++i) {
    threads = atoi(argv[i]);
    if (threads < 1) return 2;
    long reps = 1;
    const long n = take_samples(peak_call, NULL, seconds, max_samples, t, &reps);
    const double flop = 2.0 * CHAINS * LANES * ITERATIONS * threads;
    printf(
        "{\"threads\": %d, \"median_us\": %.3f, \"p25_us\": %.3f, \"p75_us\": %.3f, \"samples\": %ld, "
        "\"reps\": %ld, \"best_us\": %.3f, \"gflops\": %.2f, \"vector_bits\": %d, \"chains\": %d}\n",
        threads, t[n / 2], t[n / 4], t[3 * n / 4], n, reps, t[0], flop / (t[0] * 1e3), VECTOR_BYTES * 8, CHAINS);
    fflush(stdout);
  }
  free(t);
  return 0;
}
