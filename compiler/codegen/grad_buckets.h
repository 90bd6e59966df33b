// Gradient buckets of a train step, for data-parallel training (docs/distributed.md, "Buckets"): the trained
// params' gradients grouped in the order the step's kernels finish them (the last layer's first, since the
// backward pass runs backwards), each group about `targetBytes` big. The generated train_step calls the
// model's bucket hook (model_abi.h, sinter_bucket_hook) right after the kernel that completes a bucket, so
// that an MPI runtime can start summing it while the rest of the backward pass runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/codegen/kernel_plan.h"
#include "compiler/ir/graph.h"

namespace sinter::codegen {

struct GradBucket {
  std::vector<int> grads;  // indices of the trained params (= of the step's gradient results), in ready order
  std::int64_t bytes = 0;
  // The kernel (index into KernelProgram::kernels) after which every gradient of the bucket is in its result
  // buffer; kernels.size() for a gradient that the entry point's final copies fill (a gradient that is also
  // another result, or an argument).
  std::size_t readyAfter = 0;
};

struct GradBuckets {
  std::vector<GradBucket> buckets;  // in the order the step completes them
  std::vector<int> bucketOf;        // per trained param: its bucket
  std::int64_t targetBytes = 0;
};

// The buckets of `trainStep` (a graph with Grad results, one per trained param in param order) run as
// `program`: its gradients sorted by the kernel that finishes them (ties in reverse param order: the
// later layer first), cut greedily into buckets of at most `targetBytes`; the gradients one kernel finishes
// stay together, so a bucket is larger only when they alone are. No buckets for a graph without gradients.
// Throws std::invalid_argument unless targetBytes > 0.
GradBuckets planGradBuckets(const ir::Graph& trainStep, const KernelProgram& program, std::int64_t targetBytes);

// The dump's line for bucket `index`, e.g. "bucket 0 ready: w3, b3 (41 KB) -> all-reduce starts".
std::string describeBucket(const ir::Graph& trainStep, const GradBuckets& b, std::size_t index);

}  // namespace sinter::codegen
