// The gradient half of a training step, for one process or several: each process feeds its share of the
// global batch (rank_share.h), runs the model's train_step on it and the processes sum their gradients, so
// that afterwards every process holds the gradient of the global batch's mean loss, as one process computes
// it, and the optimizer update that follows is the same on every process. docs/distributed.md explains the
// two ways of summing: as MPI's all-reduce does (fast; equal to one process up to the reassociation of f32
// sums) and --deterministic-reduce (fixed chunks summed in a fixed order: the same bits for any number of
// processes). With several processes and a model compiled with gradient buckets, the fast way overlaps the
// sums with the backward pass (grad_buckets.h).
#pragma once

#include "runtime/communicator.h"
#include "runtime/grad_buckets.h"
#include "runtime/dataset.h"
#include "runtime/model_layout.h"
#include "runtime/rank_share.h"

#include <sinter/model_abi.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace sinter::rt {

// A global batch: samples order[first, first + count) of a split.
struct GlobalBatch {
  const Dataset* set = nullptr;
  const Normalizer* norm = nullptr;
  const int64_t* order = nullptr;
  int64_t first = 0, count = 0;
  uint64_t seed = 0;  // of the step's random ops; each share or chunk derives its own from its first sample
};

// What a step measured over the whole global batch, the same on every process.
struct StepFigures {
  double loss = 0;         // the mean loss
  int64_t correct = 0;     // labels predicted right by the params before the update (when asked for)
  int64_t localBatch = 0;  // samples this process ran last, for the diagnosis of a non-finite step
};

class DistributedStep {
 public:
  // `reduceChunk` > 0: --deterministic-reduce with chunks of that many samples.
  DistributedStep(const sinter_model_desc& m, const Layout& l, Buffers& b, Communicator& comm, int64_t reduceChunk);

  // Leaves the global batch's mean gradient in b.gradPtrs. `countCorrect` runs the forward pass too.
  StepFigures run(const GlobalBatch& g, bool countCorrect);

  // Seconds this process spent in the collectives of its steps so far (waiting for the slowest process
  // included): what the communication costs, for the epoch's report and tools/bench's dist part.
  double commSeconds() const { return commSeconds_; }
  // Seconds this process computed while its gradient buckets' sums were in flight (0 without buckets): the
  // window in which communication can hide behind the backward pass.
  double overlapSeconds() const { return buckets_ ? buckets_->overlapSeconds() : 0.0; }

  // The largest number of samples this process feeds at once, for sizing its buffers.
  static int64_t localBatch(int64_t globalBatch, int ranks, int64_t reduceChunk);

 private:
  // Runs train_step on samples [first, first + count) of the global batch; returns loss * count and adds the
  // correct predictions to `correct`.
  double compute(const GlobalBatch& g, int64_t first, int64_t count, bool countCorrect, int64_t& correct);
  StepFigures allReduce(const GlobalBatch& g, bool countCorrect);
  // The gradients of this process's share, summed: in buckets started during the step, or at once.
  double bucketedShare(const GlobalBatch& g, const Share& share, bool countCorrect, int64_t& correct);
  double blockingShare(const GlobalBatch& g, const Share& share, bool countCorrect, int64_t& correct);
  void zeroGradients();
  StepFigures chunked(const GlobalBatch& g, bool countCorrect);
  // The trained params' gradients, times `scale`, to and from one flat buffer (`at` elements in).
  void pack(double scale, void* flat) const;
  void unpack(const void* flat) const;

  const sinter_model_desc& m_;
  const Layout& l_;
  Buffers& b_;
  Communicator& comm_;
  int64_t chunk_;
  int64_t elements_ = 0;  // of all trained gradients
  size_t elementBytes_ = 4;
  std::vector<std::byte> flat_, gathered_;
  std::unique_ptr<GradBuckets> buckets_;  // several processes, the fast way, a model with buckets
  double commSeconds_ = 0;
};

}  // namespace sinter::rt
