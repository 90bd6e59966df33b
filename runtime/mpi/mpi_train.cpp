#include "runtime/mpi/mpi_train.h"

#include "runtime/mpi/mpi_communicator.h"
#include "runtime/train_main.h"

#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace sinter::rt {

int mpiTrainMain(const sinter_model_desc* model, int argc, char** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) MPI_Init(&argc, &argv);
  int status = 0;
  {
    MpiCommunicator comm(MPI_COMM_WORLD);
    status = trainMain(model, argc, argv, comm);
    // A process that failed on its own (status 1: an error, e.g. a file missing on one machine) would leave
    // the others waiting in a collective: it ends the job. Bad flags (2), --help and a signal's stop (130,
    // 143) end every process alike.
    if (status == 1 && comm.size() > 1) {
      std::fflush(stdout);
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, status);
    }
  }
  MPI_Finalize();
  return status;
}

int mpiJobReady(bool ready) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) MPI_Init(nullptr, nullptr);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int lowest = ready ? size : rank;  // a ready process names no rank
  MPI_Allreduce(MPI_IN_PLACE, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return lowest == size ? -1 : lowest;
}

void mpiEndJob() { MPI_Finalize(); }

const char* mpiLibraryVersion() {
  static const std::string version = [] {
    char text[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(text, &length);
    return std::string(text, std::strcspn(text, ",\n"));
  }();
  return version.c_str();
}

}  // namespace sinter::rt
