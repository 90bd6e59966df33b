#include "runtime/mpi/mpi_communicator.h"

#include "runtime/error.h"

#include <algorithm>
#include <climits>
#include <string>
#include <vector>

namespace sinter::rt {
namespace {

// MPI counts are ints: larger buffers go in pieces of at most 2^30 elements.
constexpr int64_t kPiece = int64_t{1} << 30;

template <class T>
void allreduce(T* data, int64_t n, MPI_Datatype type, MPI_Op op, MPI_Comm comm) {
  for (int64_t at = 0; at < n; at += kPiece)
    MPI_Allreduce(MPI_IN_PLACE, data + at, static_cast<int>(std::min(kPiece, n - at)), type, op, comm);
}

template <class T>
void iallreduce(T* data, int64_t n, MPI_Datatype type, MPI_Comm comm, std::vector<MPI_Request>& pending) {
  for (int64_t at = 0; at < n; at += kPiece) {
    MPI_Request r = MPI_REQUEST_NULL;
    MPI_Iallreduce(MPI_IN_PLACE, data + at, static_cast<int>(std::min(kPiece, n - at)), type, MPI_SUM, comm, &r);
    pending.push_back(r);
  }
}

}  // namespace

// Errors stay fatal (MPI_ERRORS_ARE_FATAL, MPI's default): a failed collective ends the whole job rather
// than leave the other processes waiting.
MpiCommunicator::MpiCommunicator(MPI_Comm comm) : comm_(comm) {
  MPI_Comm_rank(comm, &rank_);
  MPI_Comm_size(comm, &size_);
}

void MpiCommunicator::allreduceSum(float* data, int64_t n) { allreduce(data, n, MPI_FLOAT, MPI_SUM, comm_); }
void MpiCommunicator::allreduceSum(double* data, int64_t n) { allreduce(data, n, MPI_DOUBLE, MPI_SUM, comm_); }
void MpiCommunicator::allreduceMax(int64_t* data, int64_t n) { allreduce(data, n, MPI_INT64_T, MPI_MAX, comm_); }

void MpiCommunicator::startAllreduceSum(float* data, int64_t n) { iallreduce(data, n, MPI_FLOAT, comm_, pending_); }
void MpiCommunicator::startAllreduceSum(double* data, int64_t n) { iallreduce(data, n, MPI_DOUBLE, comm_, pending_); }

void MpiCommunicator::progress() {
  if (pending_.empty()) return;
  int done = 0;  // completed requests become MPI_REQUEST_NULL; waitAll skips them
  MPI_Testall(static_cast<int>(pending_.size()), pending_.data(), &done, MPI_STATUSES_IGNORE);
}

void MpiCommunicator::waitAll() {
  if (pending_.empty()) return;
  MPI_Waitall(static_cast<int>(pending_.size()), pending_.data(), MPI_STATUSES_IGNORE);
  pending_.clear();
}

void MpiCommunicator::allgather(const void* send, const int64_t* bytes, void* recv) {
  std::vector<int> counts(static_cast<size_t>(size_)), offsets(counts.size());
  int64_t total = 0;
  for (int r = 0; r < size_; ++r) {
    if (total + bytes[r] > INT_MAX)
      throw Error("--deterministic-reduce: " + std::to_string(total + bytes[r]) +
                  " bytes of chunk gradients exceed what one MPI call moves (2 GiB): use a larger --reduce-chunk");
    counts[static_cast<size_t>(r)] = static_cast<int>(bytes[r]);
    offsets[static_cast<size_t>(r)] = static_cast<int>(total);
    total += bytes[r];
  }
  MPI_Allgatherv(send, counts[static_cast<size_t>(rank_)], MPI_BYTE, recv, counts.data(), offsets.data(), MPI_BYTE,
                 comm_);
}

void MpiCommunicator::broadcast(void* data, int64_t bytes) {
  auto* p = static_cast<char*>(data);
  for (int64_t at = 0; at < bytes; at += kPiece)
    MPI_Bcast(p + at, static_cast<int>(std::min(kPiece, bytes - at)), MPI_BYTE, 0, comm_);
}

}  // namespace sinter::rt
