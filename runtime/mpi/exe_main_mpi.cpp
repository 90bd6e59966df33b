// main() of a training executable built with `sinter build --mpi`: one process of an MPI job (mpirun -np N),
// training its share of every global batch (runtime/distributed_step.h). docs/distributed.md.
#include "runtime/mpi/mpi_train.h"

#include <sinter/sinter.h>

#include <cstdio>
#include <cstring>

extern "C" const sinter_model_desc sinter_model;

int main(int argc, char** argv) {
  // --version is answered before MPI starts: it names the model, the runtime and the MPI library.
  for (int i = 1; i < argc && std::strcmp(argv[i], "--") != 0; ++i)
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("%s (model %s), Sinter runtime %s, with MPI: %s\n", argv[0], sinter_model.name, sinter_version(),
                  sinter::rt::mpiLibraryVersion());
      return 0;
    }
  return sinter::rt::mpiTrainMain(&sinter_model, argc, argv);
}
