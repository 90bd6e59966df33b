/* What the oneDNN peers (gemm_dnnl.c, conv_dnnl.c) share: the name of the threading runtime oneDNN was built
 * with, printed with each result so that a run says whether its thread count took effect. */
#ifndef SINTER_BENCH_DNNL_RUNTIME_H
#define SINTER_BENCH_DNNL_RUNTIME_H

#include <oneapi/dnnl/dnnl.h>

/* dnnl_version()->cpu_runtime as a word. */
static const char* runtime_name(unsigned r) {
  switch (r) {
    case DNNL_RUNTIME_SEQ: return "sequential";
    case DNNL_RUNTIME_OMP: return "OpenMP";
    case DNNL_RUNTIME_TBB: return "TBB";
    case DNNL_RUNTIME_THREADPOOL: return "threadpool";
    default: return "other";
  }
}

#endif
