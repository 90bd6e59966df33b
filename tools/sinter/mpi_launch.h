// Whether this process was started by an MPI launcher (mpirun), and its rank: what the launcher puts in the
// environment, readable before MPI_Init and in a sinter built without MPI. docs/distributed.md.
#pragma once

namespace sinter::tool {

struct MpiLaunch {
  int size = 0;  // the processes of the job; 0 when no launcher started this one
  int rank = 0;
};

// Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE and _RANK; a PMI launcher (Slurm's srun, MPICH's Hydra)
// PMI_SIZE and PMI_RANK.
MpiLaunch mpiLaunch();

}  // namespace sinter::tool
