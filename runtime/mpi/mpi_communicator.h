// The processes of an MPI job as the training driver's Communicator: MPI does every collective. Only the
// main() of `sinter build --mpi` executables (exe_main_mpi.cpp) links it, and with it libmpi.
#pragma once

#include "runtime/communicator.h"

#include <mpi.h>

#include <vector>

namespace sinter::rt {

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm);
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduceSum(float* data, int64_t n) override;
  void allreduceSum(double* data, int64_t n) override;
  void allreduceMax(int64_t* data, int64_t n) override;
  // MPI_Iallreduce; progress() is MPI_Testall, waitAll() MPI_Waitall over the started sums.
  void startAllreduceSum(float* data, int64_t n) override;
  void startAllreduceSum(double* data, int64_t n) override;
  void progress() override;
  void waitAll() override;
  void allgather(const void* send, const int64_t* bytes, void* recv) override;
  void broadcast(void* data, int64_t bytes) override;

 private:
  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  std::vector<MPI_Request> pending_;  // the started sums
};

}  // namespace sinter::rt
