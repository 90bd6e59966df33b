/* The oneDNN peer of Sinter's GEMM table: times dnnl_sgemm (row-major, C = op(A) op(B)) on the shapes given,
 * with the protocol of model_bench.c (warm-up, samples of `reps` calls lasting at least 200 us, median and
 * quartiles), at the thread count each shape names.
 *
 *   gemm_dnnl MAX_SAMPLES SECONDS SHAPE...      SHAPE = nn|tn|nt:M:K:N[:THREADS]   (1 thread by default)
 *
 * nn is A[M,K] B[K,N], tn is A[K,M] read transposed (a weight gradient, xᵀ dy), nt is B[N,K] read
 * transposed (an input gradient, dy wᵀ): the three forms of a dense layer's training step. Debian's oneDNN
 * 2.6 threads through OpenMP (it links libgomp), so the thread count is set with omp_set_num_threads and this
 * program is built with -fopenmp. Each line names the CPU runtime the library was built with. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include "dnnl_runtime.h"
#include "sampling.h"

struct Gemm {
  char ta, tb;
  long M, N, K;
  const float* a;
  long lda;
  const float* b;
  long ldb;
  float* c;
};

static int gemm_call(void* ctx) {
  const struct Gemm* g = ctx;
  return dnnl_sgemm(g->ta, g->tb, g->M, g->N, g->K, 1.0f, g->a, g->lda, g->b, g->ldb, 0.0f, g->c, g->N) == dnnl_success;
}

static float* random_matrix(long n, unsigned* s) {
  float* p = malloc(n * sizeof *p);
  for (long k = 0; k < n; ++k) p[k] = (float)((*s = *s * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
  return p;
}

static int run_shape(const char* shape, long max_samples, double seconds) {
  char form[3];
  long M, K, N, threads = 1;
  const int fields = sscanf(shape, "%2[nt]:%ld:%ld:%ld:%ld", form, &M, &K, &N, &threads);
  if (fields < 4 || strlen(form) != 2 || threads < 1) {
    fprintf(stderr, "gemm_dnnl: bad shape '%s' (nn|tn|nt:M:K:N[:THREADS])\n", shape);
    return 0;
  }
  const dnnl_version_t* v = dnnl_version();
  if (v->cpu_runtime != DNNL_RUNTIME_OMP && threads > 1)
    fprintf(stderr, "gemm_dnnl: oneDNN's runtime is %s, not OpenMP: %ld threads not set\n",
            runtime_name(v->cpu_runtime), threads);
  omp_set_num_threads((int)threads);
  const char ta = form[0] == 't' ? 'T' : 'N', tb = form[1] == 't' ? 'T' : 'N';
  unsigned s = 12345;
  float *a = random_matrix(M * K, &s), *b = random_matrix(K * N, &s), *c = calloc(M * N, sizeof(float));
  const long lda = ta == 'T' ? M : K, ldb = tb == 'T' ? K : N;
  struct Gemm g = {ta, tb, M, N, K, a, lda, b, ldb, c};
  double* t = malloc(max_samples * sizeof *t);
  long reps = 1;
  const long n = take_samples(gemm_call, &g, seconds, max_samples, t, &reps);
  if (n == 0) return 0;
  printf(
      "{\"shape\": \"%s\", \"threads\": %ld, \"median_us\": %.3f, \"p25_us\": %.3f, \"p75_us\": %.3f, "
      "\"samples\": %ld, \"reps\": %ld, \"gflops\": %.2f, \"onednn\": \"%d.%d.%d\", \"cpu_runtime\": \"%s\"}\n",
      shape, threads, t[n / 2], t[n / 4], t[3 * n / 4], n, reps, 2.0 * M * N * K / (t[n / 2] * 1e3), v->major, v->minor,
      v->patch, runtime_name(v->cpu_runtime));
  fflush(stdout);
  free(a), free(b), free(c), free(t);
  return 1;
}

int main(int argc, char** argv) {
  long max_samples = 0;
  double seconds = 0;
  if (!parse_budget(argc, argv, "SHAPE...  (SHAPE = nn|tn|nt:M:K:N[:THREADS])", &max_samples, &seconds)) return 2;
  for (int i = 3; i < argc; ++i)
    if (!run_shape(argv[i], max_samples, seconds)) return 1;
  return 0;
}
