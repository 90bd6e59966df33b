/* The oneDNN peer of Sinter's convolution table: times oneDNN's convolution primitives (forward, backward
 * data, backward weights; no bias) on the layer shapes given, with the protocol of model_bench.c (warm-up,
 * samples of `reps` calls lasting at least 200 us, median and quartiles), at the thread count each job names.
 *
 *   conv_dnnl MAX_SAMPLES SECONDS JOB...
 *       JOB = PASS:C:H:W:O:K:STRIDE:PAD:BATCH[:THREADS[:LAYOUT]]
 *       PASS = fwd | bwd_data | bwd_weights, LAYOUT = any (the default) | plain
 *
 * x[BATCH, C, H, W] convolved with w[O, C, K, K] at the stride and the padding (both sides) gives
 * y[BATCH, O, OH, OW]; fwd computes y, bwd_data dx from dy and w, bwd_weights dw from x and dy.
 *
 * oneDNN at its best: with LAYOUT any, each primitive is created with every tensor in the layout it prefers
 * (format_tag_any, typically blocked by 8 or 16 channels), the data is reordered into those layouts once,
 * before the timing; with LAYOUT plain, the tensors are nchw and oihw as Sinter's are (oneDNN then picks other
 * implementations, sometimes faster on few channels). The timed call is the primitive alone
 * (dnnl_primitive_execute and a stream wait). Before the timing,
 * each job's result is checked once against a plain loop in double precision on the same data (the result
 * reordered back to plain nchw / oihw): `error` in the job's line is the largest difference relative to the
 * largest element of the reference. Each line also names the implementation oneDNN chose (impl_info_str).
 * Debian's oneDNN 2.6 threads through OpenMP, as gemm_dnnl.c explains. */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include "dnnl_runtime.h"
#include "sampling.h"

#define DNNL_OK(call)                                                              \
  do {                                                                             \
    const dnnl_status_t st_ = (call);                                              \
    if (st_ != dnnl_success) {                                                     \
      fprintf(stderr, "conv_dnnl: %s failed (status %d)\n", #call, (int)st_);    \
      exit(1);                                                                     \
    }                                                                              \
  } while (0)

#define JOB_SYNTAX "fwd|bwd_data|bwd_weights:C:H:W:O:K:STRIDE:PAD:BATCH[:THREADS[:any|plain]]"

enum Pass { FWD, BWD_DATA, BWD_WEIGHTS };

struct Shape {
  long n, c, h, w, o, k, stride, pad, oh, ow;
};

/* One tensor: its plain (user) memory and the primitive's, which may be the same layout. */
struct Tensor {
  dnnl_memory_t user, prim;
  float* data;  /* the user memory's buffer, plain layout */
  long elements;
};

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static void reorder(dnnl_memory_t from, dnnl_memory_t to) {
  const dnnl_memory_desc_t *src_md, *dst_md;
  DNNL_OK(dnnl_memory_get_memory_desc(from, &src_md));
  DNNL_OK(dnnl_memory_get_memory_desc(to, &dst_md));
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t r;
  DNNL_OK(dnnl_reorder_primitive_desc_create(&pd, src_md, engine, dst_md, engine, NULL));
  DNNL_OK(dnnl_primitive_create(&r, pd));
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  DNNL_OK(dnnl_primitive_execute(r, stream, 2, args));
  DNNL_OK(dnnl_stream_wait(stream));
  dnnl_primitive_destroy(r);
  dnnl_primitive_desc_destroy(pd);
}

/* A tensor of the given dims in plain layout `tag`, and the primitive's memory of descriptor `prim_md`;
 * random values in [-0.5, 0.5) reordered into the primitive's layout when `fill`. */
static struct Tensor make_tensor(const dnnl_dims_t dims, dnnl_format_tag_t tag, const dnnl_memory_desc_t* prim_md,
                                 int fill, unsigned* seed) {
  struct Tensor t;
  dnnl_memory_desc_t md;
  DNNL_OK(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, tag));
  t.elements = dims[0] * dims[1] * dims[2] * dims[3];
  t.data = malloc(t.elements * sizeof(float));
  for (long i = 0; i < t.elements; ++i)
    t.data[i] = fill ? (float)((*seed = *seed * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f : 0.0f;
  DNNL_OK(dnnl_memory_create(&t.user, &md, engine, t.data));
  DNNL_OK(dnnl_memory_create(&t.prim, prim_md, engine, DNNL_MEMORY_ALLOCATE));
  if (fill) reorder(t.user, t.prim);
  return t;
}

static void free_tensor(struct Tensor* t) {
  dnnl_memory_destroy(t->user);
  dnnl_memory_destroy(t->prim);
  free(t->data);
}

/* The largest difference between the primitive's result (reordered to plain) and the loop's in double,
 * relative to the reference's largest element. x, w, dy are the inputs (plain); the pass decides which of
 * them the result is computed from and what it is. */
static double check(enum Pass pass, const struct Shape* s, const float* x, const float* w, const float* dy,
                    const float* got) {
  const long size = pass == FWD ? s->n * s->o * s->oh * s->ow
                  : pass == BWD_DATA ? s->n * s->c * s->h * s->w
                                     : s->o * s->c * s->k * s->k;
  double* ref = calloc(size, sizeof *ref);
  for (long n = 0; n < s->n; ++n)
    for (long o = 0; o < s->o; ++o)
      for (long oh = 0; oh < s->oh; ++oh)
        for (long ow = 0; ow < s->ow; ++ow)
          for (long c = 0; c < s->c; ++c)
            for (long kh = 0; kh < s->k; ++kh)
              for (long kw = 0; kw < s->k; ++kw) {
                const long ih = oh * s->stride - s->pad + kh, iw = ow * s->stride - s->pad + kw;
                if (ih < 0 || ih >= s->h || iw < 0 || iw >= s->w) continue;
                const long xi = ((n * s->c + c) * s->h + ih) * s->w + iw;
                const long wi = ((o * s->c + c) * s->k + kh) * s->k + kw;
                const long yi = ((n * s->o + o) * s->oh + oh) * s->ow + ow;
                if (pass == FWD) ref[yi] += (double)x[xi] * w[wi];
                else if (pass == BWD_DATA) ref[xi] += (double)dy[yi] * w[wi];
                else ref[wi] += (double)dy[yi] * x[xi];
              }
  double worst = 0, largest = 0;
  for (long i = 0; i < size; ++i) {
    worst = fmax(worst, fabs(got[i] - ref[i]));
    largest = fmax(largest, fabs(ref[i]));
  }
  free(ref);
  return largest > 0 ? worst / largest : INFINITY;
}

struct Call {
  dnnl_primitive_t prim;
  dnnl_exec_arg_t args[3];
};

static int conv_call(void* ctx) {
  struct Call* c = ctx;
  return dnnl_primitive_execute(c->prim, stream, 3, c->args) == dnnl_success && dnnl_stream_wait(stream) == dnnl_success;
}

static int run_job(const char* job, long max_samples, double seconds) {
  char pass_name[16], layout[8] = "any";
  struct Shape s;
  long threads = 1;
  const int fields = sscanf(job, "%15[a-z_]:%ld:%ld:%ld:%ld:%ld:%ld:%ld:%ld:%ld:%7[a-z]", pass_name, &s.c, &s.h, &s.w,
                            &s.o, &s.k, &s.stride, &s.pad, &s.n, &threads, layout);
  const enum Pass pass = !strcmp(pass_name, "fwd") ? FWD : !strcmp(pass_name, "bwd_data") ? BWD_DATA : BWD_WEIGHTS;
  const int plain = !strcmp(layout, "plain");
  if (fields < 9 || (pass == BWD_WEIGHTS && strcmp(pass_name, "bwd_weights")) || threads < 1 || s.stride < 1 ||
      s.n < 1 || s.k < 1 || (!plain && strcmp(layout, "any"))) {
    fprintf(stderr, "conv_dnnl: bad job '%s' (%s)\n", job, JOB_SYNTAX);
    return 0;
  }
  s.oh = (s.h + 2 * s.pad - s.k) / s.stride + 1;
  s.ow = (s.w + 2 * s.pad - s.k) / s.stride + 1;
  omp_set_num_threads((int)threads);

  const dnnl_dims_t x_dims = {s.n, s.c, s.h, s.w}, w_dims = {s.o, s.c, s.k, s.k}, y_dims = {s.n, s.o, s.oh, s.ow};
  const dnnl_dims_t strides = {s.stride, s.stride}, pad = {s.pad, s.pad};
  dnnl_memory_desc_t x_any, w_any, y_any;
  const dnnl_format_tag_t act = plain ? dnnl_nchw : dnnl_format_tag_any, wts = plain ? dnnl_oihw : dnnl_format_tag_any;
  DNNL_OK(dnnl_memory_desc_init_by_tag(&x_any, 4, x_dims, dnnl_f32, act));
  DNNL_OK(dnnl_memory_desc_init_by_tag(&w_any, 4, w_dims, dnnl_f32, wts));
  DNNL_OK(dnnl_memory_desc_init_by_tag(&y_any, 4, y_dims, dnnl_f32, act));
  /* The forward descriptor: the primitive of fwd, the hint the backward primitives need. */
  dnnl_convolution_desc_t fwd_d, d;
  dnnl_primitive_desc_t fwd_pd, pd;
  DNNL_OK(dnnl_convolution_forward_desc_init(&fwd_d, dnnl_forward_training, dnnl_convolution_direct, &x_any, &w_any,
                                             NULL, &y_any, strides, pad, pad));
  DNNL_OK(dnnl_primitive_desc_create(&fwd_pd, &fwd_d, NULL, engine, NULL));
  if (pass == FWD) {
    DNNL_OK(dnnl_primitive_desc_clone(&pd, fwd_pd));
  } else {
    if (pass == BWD_DATA)
      DNNL_OK(dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &x_any, &w_any, &y_any, strides,
                                                       pad, pad));
    else
      DNNL_OK(dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &x_any, &w_any, NULL, &y_any,
                                                          strides, pad, pad));
    DNNL_OK(dnnl_primitive_desc_create(&pd, &d, NULL, engine, fwd_pd));
  }
  const char* impl = NULL;
  DNNL_OK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
  const dnnl_query_t xq = pass == BWD_DATA ? dnnl_query_diff_src_md : dnnl_query_src_md;
  const dnnl_query_t wq = pass == BWD_WEIGHTS ? dnnl_query_diff_weights_md : dnnl_query_weights_md;
  const dnnl_query_t yq = pass == FWD ? dnnl_query_dst_md : dnnl_query_diff_dst_md;
  unsigned seed = 12345;
  struct Tensor x = make_tensor(x_dims, dnnl_nchw, dnnl_primitive_desc_query_md(pd, xq, 0), pass != BWD_DATA, &seed);
  struct Tensor w = make_tensor(w_dims, dnnl_oihw, dnnl_primitive_desc_query_md(pd, wq, 0), pass != BWD_WEIGHTS, &seed);
  struct Tensor y = make_tensor(y_dims, dnnl_nchw, dnnl_primitive_desc_query_md(pd, yq, 0), pass != FWD, &seed);

  struct Call call;
  DNNL_OK(dnnl_primitive_create(&call.prim, pd));
  const int x_arg = pass == BWD_DATA ? DNNL_ARG_DIFF_SRC : DNNL_ARG_SRC;
  const int w_arg = pass == BWD_WEIGHTS ? DNNL_ARG_DIFF_WEIGHTS : DNNL_ARG_WEIGHTS;
  const int y_arg = pass == FWD ? DNNL_ARG_DST : DNNL_ARG_DIFF_DST;
  call.args[0] = (dnnl_exec_arg_t){x_arg, x.prim};
  call.args[1] = (dnnl_exec_arg_t){w_arg, w.prim};
  call.args[2] = (dnnl_exec_arg_t){y_arg, y.prim};

  /* The check, once: the result back in plain layout against the loop. */
  if (!conv_call(&call)) return 0;
  struct Tensor* result = pass == FWD ? &y : pass == BWD_DATA ? &x : &w;
  reorder(result->prim, result->user);
  const double error = check(pass, &s, x.data, w.data, y.data, result->data);

  double* t = malloc(max_samples * sizeof *t);
  long reps = 1;
  const long n = take_samples(conv_call, &call, seconds, max_samples, t, &reps);
  if (n == 0) return 0;
  const double flop = 2.0 * s.n * s.o * s.oh * s.ow * s.c * s.k * s.k;
  const dnnl_version_t* v = dnnl_version();
  printf("{\"job\": \"%s\", \"pass\": \"%s\", \"batch\": %ld, \"threads\": %ld, \"median_us\": %.3f, "
         "\"p25_us\": %.3f, \"p75_us\": %.3f, \"samples\": %ld, \"reps\": %ld, \"gflops\": %.2f, \"error\": %.3g, "
         "\"layout\": \"%s\", \"impl\": \"%s\", \"onednn\": \"%d.%d.%d\", \"cpu_runtime\": \"%s\"}\n",
         job, pass_name, s.n, threads, t[n / 2], t[n / 4], t[3 * n / 4], n, reps, flop / (t[n / 2] * 1e3), error, layout, impl,
         v->major, v->minor, v->patch, runtime_name(v->cpu_runtime));
  fflush(stdout);
  dnnl_primitive_destroy(call.prim);
  dnnl_primitive_desc_destroy(pd);
  dnnl_primitive_desc_destroy(fwd_pd);
  free_tensor(&x), free_tensor(&w), free_tensor(&y);
  free(t);
  return 1;
}

int main(int argc, char** argv) {
  long max_samples = 0;
  double seconds = 0;
  if (!parse_budget(argc, argv, "JOB...  (JOB = " JOB_SYNTAX ")", &max_samples, &seconds))
    return 2;
  DNNL_OK(dnnl_engine_create(&engine, dnnl_cpu, 0));
  DNNL_OK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
  for (int i = 3; i < argc; ++i)
    if (!run_job(argv[i], max_samples, seconds)) return 1;
  dnnl_stream_destroy(stream);
  dnnl_engine_destroy(engine);
  return 0;
}
