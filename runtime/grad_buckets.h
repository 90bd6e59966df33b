// The runtime's side of the gradient buckets (docs/distributed.md, "Buckets"): the compiler groups a train
// step's gradients into buckets in the order the step finishes them, last layer first, and the generated
// train_step calls the model's bucket hook (model_abi.h, sinter_bucket_hook) after the kernel that completes
// each. The gradient buffers are slices of one flat buffer, laid out bucket by bucket (the object points
// b.gradPtrs and the step's arguments there while it lives). While a step runs with the hook installed, each
// call scales the bucket's gradients in place by the process's share of the batch and starts their sum
// (Communicator::startAllreduceSum: MPI_Iallreduce), so that the sum travels while the rest of the backward
// pass computes; the last bucket, which nothing is left to overlap, is summed at once with the blocking
// all-reduce. finish() waits for every sum before the optimizer update.
#pragma once

#include "runtime/communicator.h"
#include "runtime/model_layout.h"

#include <sinter/model_abi.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sinter::rt {

// out[0, n) = grad[0, n) * scale, in the dtype of the gradients (f32: scale rounded to f32 first). A
// process's gradients times its share of the batch, before they are summed.
void scaledCopy(const void* grad, int64_t n, int32_t dtype, double scale, void* out);

class GradBuckets {
 public:
  // Whether m's train step calls a bucket hook (a model compiled with buckets: every model with a train block).
  static bool available(const sinter_model_desc& m);

  GradBuckets(const sinter_model_desc& m, const Layout& l, Buffers& b, Communicator& comm);
  ~GradBuckets();
  GradBuckets(const GradBuckets&) = delete;
  GradBuckets& operator=(const GradBuckets&) = delete;

  // Installs the hook for the train_step calls until finish(): each bucket the step completes is scaled by
  // `scale` (the process's part of the global batch) and its sum started. Meanwhile the model's parallel
  // loops let the started sums progress (Communicator::progress) before they run.
  void begin(double scale);
  // Uninstalls the hook, starts the sums of the buckets the step did not complete (a process without samples
  // this step sends its zeroed gradients), waits for every sum and leaves it in b.gradPtrs.
  void finish();
  // A step that threw: uninstalls the hook. It does not wait for the sums started (the other processes may
  // never join them): the error ends the job (exe_main_mpi.cpp calls MPI_Abort), and the flat buffer the
  // sums use lives as long as this object.
  void abandon();

  // Seconds the process was blocked in the sums (starting them and waiting for them), and seconds it computed
  // while sums were in flight (from the first bucket's start to the end of the wait, minus the blocked time).
  double blockedSeconds() const { return blocked_; }
  double overlapSeconds() const { return overlap_; }
  int buckets() const { return static_cast<int>(offsets_.size()); }

 private:
  static void onReady(void* self, int32_t bucket);
  void start(int32_t bucket);
  void uninstall();
  void repoint(void* from, void* to);

  static constexpr size_t kLine = 64;  // bytes: each gradient starts on a cache line

  const sinter_model_desc& m_;
  Buffers& b_;
  Communicator& comm_;
  int32_t dtype_;
  size_t elementBytes_;
  std::vector<std::vector<size_t>> members_;  // per bucket: its trained params, in param order
  std::vector<int64_t> offsets_, sizes_;      // per bucket: its slice of the flat buffer, in elements
  const std::vector<int64_t>& trainedSizes_;
  std::vector<std::byte> flat_;               // the gradients; base_: its first cache line
  std::byte* base_ = nullptr;
  std::vector<void*> original_;               // per trained param: b.gradPtrs before this object
  std::vector<bool> started_;
  double scale_ = 1;
  double firstStart_ = -1;  // of the step; -1 before its first bucket
  double blockedInStep_ = 0;
  double blocked_ = 0, overlap_ = 0;
  bool installed_ = false;
};

}  // namespace sinter::rt
