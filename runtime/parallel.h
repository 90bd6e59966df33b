// The runtime's side of parallel loops (model_abi.h, sinter_parallel_for_fn): one process-wide pool of
// worker threads that generated kernels split their outer loops over.
//
// Results do not depend on the number of threads: a kernel splits only loops whose iterations write
// disjoint outputs and each keeps its own summation order, so every thread count gives the same bits.
#pragma once

#include <sinter/model_abi.h>

namespace sinter::rt {

// The number of threads kernels may use, the calling thread included. 0 picks the default: the
// SINTER_NUM_THREADS environment variable when set, else the machine's hardware threads.
void setThreads(int n);
int threads();

// The ABI's parallel loop. Splits [0, count) into one contiguous chunk per thread; runs small loops
// (`work` below a few hundred thousand multiply-adds), and calls made while another call holds the pool,
// on the calling thread alone. Workers run with the caller's floating-point control state (flush to zero).
void parallelFor(sinter_parallel_body body, void* env, int64_t count, int64_t work);

// Points the model's hooks at parallelFor and at a per-thread scratch allocator, so its kernels use the
// pool and keep their scratch between calls. Safe while other threads run the model: the hooks are
// written once, then only read.
void installParallelFor(const sinter_model_desc& model);

}  // namespace sinter::rt
