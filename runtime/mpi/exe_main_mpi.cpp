// main() of a training executable built with `sinter build --mpi`: one process of an MPI job (mpirun -np N),
// training its share of every global batch (runtime/distributed_step.h). docs/distributed.md.
#include "runtime/mpi/mpi_communicator.h"
#include "runtime/train_main.h"

#include <mpi.h>
#include <sinter/sinter.h>

#include <cstdio>
#include <cstring>

extern "C" const sinter_model_desc sinter_model;

int main(int argc, char** argv) {
  // --version is answered before MPI starts: it names the model, the runtime and the MPI library.
  for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i)
    if (std::strcmp(argv[i], "--version") == 0) {
      char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
      int length = 0;
      MPI_Get_library_version(mpi, &length);
      std::printf("%s (model %s), Sinter runtime %s, with MPI: %.*s\n", argv[0], sinter_model.name, sinter_version(),
                  static_cast<int>(std::strcspn(mpi, ",\n")), mpi);
      return 0;
    }
  MPI_Init(&argc, &argv);
  sinter::rt::MpiCommunicator comm(MPI_COMM_WORLD);
  const int status = sinter::rt::trainMain(&sinter_model, argc, argv, comm);
  // A process that failed on its own (status 1: an error, e.g. a file missing on one machine) would leave
  // the others waiting in a collective: it ends the job. Bad flags (2), --help and a signal's stop (130,
  // 143) end every process alike.
  if (status == 1 && comm.size() > 1) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, status);
  }
  MPI_Finalize();
  return status;
}
