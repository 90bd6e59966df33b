// The training driver as one process of an MPI job: what the main() of a `sinter build --mpi` executable
// (exe_main_mpi.cpp) and `sinter train --mpi` (tools/sinter/train.cpp) run. docs/distributed.md.
#pragma once

#include <sinter/model_abi.h>

namespace sinter::rt {

// MPI_Init (unless mpiJobReady already called it), the training driver (trainMain) with MPI_COMM_WORLD,
// MPI_Finalize; returns the exit status. A process that failed on its own (status 1) ends the job with
// MPI_Abort instead of leaving the others waiting in a collective.
int mpiTrainMain(const sinter_model_desc* model, int argc, char** argv);

// Before training, the processes of a job agree on whether each is ready (`sinter train --mpi`: compiled the
// model): MPI_Init, then one collective. Returns the lowest rank that is not ready, -1 when all are. The caller
// continues with mpiTrainMain when all are, else ends with mpiEndJob.
int mpiJobReady(bool ready);

// MPI_Finalize after mpiJobReady found a process not ready: every process ends normally, none aborts.
void mpiEndJob();

// The MPI library's name and version, e.g. "Open MPI v4.1.4" (callable before MPI_Init).
const char* mpiLibraryVersion();

}  // namespace sinter::rt
