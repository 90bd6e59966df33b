// The training program of a compiled model for one process of a run: sinter_train_main (sinter.h) runs it
// as the only process; the main() of an executable built with `sinter build --mpi` runs it in every MPI
// process with an MPI communicator (runtime/mpi/).
#pragma once

#include "runtime/communicator.h"

#include <sinter/model_abi.h>

namespace sinter::rt {

// Parses the driver's flags and trains; returns the exit status. Never throws.
int trainMain(const sinter_model_desc* model, int argc, char** argv, Communicator& comm);

}  // namespace sinter::rt
