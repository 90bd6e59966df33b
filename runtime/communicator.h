// The processes of a data-parallel training run, as the training driver sees them: its rank among them and
// the few collectives it needs. The runtime itself links no MPI: a training executable built with
// `sinter build --mpi` passes an MPI implementation (runtime/mpi/), every other caller a single process.
#pragma once

#include <cstdint>

namespace sinter::rt {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In place: every rank's `data` becomes the element-wise sum over the ranks, the same bits on each.
  virtual void allreduceSum(float* data, int64_t n) = 0;
  virtual void allreduceSum(double* data, int64_t n) = 0;
  virtual void allreduceMax(int64_t* data, int64_t n) = 0;
  // Non-blocking sums, in place, for the gradient buckets (grad_buckets.h): startAllreduceSum begins one
  // (`data` must stay untouched until waitAll), progress() lets the started sums advance while the caller
  // computes, waitAll() returns when every started sum is done. These defaults sum at once, blocking.
  virtual void startAllreduceSum(float* data, int64_t n) { allreduceSum(data, n); }
  virtual void startAllreduceSum(double* data, int64_t n) { allreduceSum(data, n); }
  virtual void progress() {}
  virtual void waitAll() {}
  // Rank r's `bytes[r]` bytes from `send`, concatenated in rank order into every rank's `recv`.
  virtual void allgather(const void* send, const int64_t* bytes, void* recv) = 0;
  // Rank 0's `bytes` bytes at `data` copied to every other rank.
  virtual void broadcast(void* data, int64_t bytes) = 0;
  bool single() const { return size() == 1; }
};

// One process: every collective is the identity.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void allreduceSum(float*, int64_t) override {}
  void allreduceSum(double*, int64_t) override {}
  void allreduceMax(int64_t*, int64_t) override {}
  void allgather(const void* send, const int64_t* bytes, void* recv) override;
  void broadcast(void*, int64_t) override {}
};

}  // namespace sinter::rt
