// `sinter train`: JIT-compile the model in this process and hand it to the runtime's training driver,
// the same driver a training executable runs. With --mpi, the process is one of an MPI job and the driver
// runs as the `sinter build --mpi` executable's does (runtime/mpi/, docs/distributed.md).
#include "tools/sinter/commands.h"
#include "tools/sinter/jit.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>

#if SINTER_WITH_MPI
#include "runtime/mpi/mpi_train.h"
#endif

namespace sinter::tool {
namespace {

// The size of the MPI job and this process's rank in it, as the launcher tells a process before MPI_Init
// (Open MPI's mpirun: OMPI_COMM_WORLD_*; a PMI launcher: PMI_*); size 0 when no launcher started it.
struct Launch {
  int size = 0;
  int rank = 0;
};

int envInt(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : -1;
}

Launch launcher() {
  for (auto [size, rank] : {std::pair{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"}, std::pair{"PMI_SIZE", "PMI_RANK"}})
    if (envInt(size) > 0) return {envInt(size), std::max(0, envInt(rank))};
  return {};
}

}  // namespace

int runTrain(const std::string& path, const codegen::Options& codegenOpts, bool mpi,
             const std::vector<std::string>& driverArgs) {
  const Launch job = launcher();
  // Without --mpi every process of the job would train the whole model alone and write the same files.
  if (!mpi && job.size > 1) {
    if (job.rank == 0)
      fmt::print(stderr,
                 "error: `sinter train` runs as one of {} processes of an MPI job (mpirun) but without --mpi: each "
                 "would train alone on the whole data; add --mpi (`mpirun -np {} sinter train {} --mpi ...`) to "
                 "train together\n",
                 job.size, job.size, path);
    return 2;
  }
#if !SINTER_WITH_MPI
  if (mpi) {
    fmt::print(stderr,
               "error: --mpi: this sinter was built without MPI (Debian's libopenmpi-dev; tools/setup-deps.sh "
               "installs it, then rebuild Sinter)\n");
    return 2;
  }
#endif
  if (mpi && job.size == 0)
    fmt::print(stderr,
               "note: --mpi without mpirun: a job of one process, which trains as `sinter train` without --mpi; "
               "start it as `mpirun -np N sinter train {} --mpi ...` to train with N processes\n",
               path);
  auto jit = compileJit(path, codegenOpts, /*needsTrain=*/true, "train");
  if (!jit) return 1;
  std::vector<std::string> args = {"sinter train " + path};
  args.insert(args.end(), driverArgs.begin(), driverArgs.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
#if SINTER_WITH_MPI
  if (mpi) return rt::mpiTrainMain(jit->descriptor(), static_cast<int>(args.size()), argv.data());
#endif
  return sinter_train_main(jit->descriptor(), static_cast<int>(args.size()), argv.data());
}

}  // namespace sinter::tool
