// `sinter train`: JIT-compile the model in this process and hand it to the runtime's training driver,
// the same driver a training executable runs. With --mpi, the process is one of an MPI job and the driver
// runs as the `sinter build --mpi` executable's does (runtime/mpi/, docs/distributed.md).
#include "tools/sinter/commands.h"
#include "tools/sinter/jit.h"
#include "tools/sinter/mpi_launch.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#if SINTER_WITH_MPI
#include "runtime/mpi/mpi_train.h"
#endif

namespace sinter::tool {
namespace {

// Holds what this process writes to stderr (file descriptor 2, so that the diagnostics' printer, stdio and
// LLVM all land in it) until release(), which gives it back and restores stderr.
class HeldStderr {
 public:
  explicit HeldStderr(bool hold) {
    if (!hold || !(file_ = std::tmpfile())) return;
    std::cerr.flush();
    std::fflush(stderr);
    saved_ = dup(2);
    if (saved_ >= 0) dup2(fileno(file_), 2);
  }
  HeldStderr(const HeldStderr&) = delete;
  HeldStderr& operator=(const HeldStderr&) = delete;
  ~HeldStderr() {
    release();
    if (file_) std::fclose(file_);
  }

  std::string release() {
    if (saved_ < 0) return {};
    std::cerr.flush();
    std::fflush(stderr);
    dup2(saved_, 2);
    close(saved_);
    saved_ = -1;
    std::string text;
    std::rewind(file_);
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, file_)) > 0;) text.append(buf, n);
    return text;
  }

 private:
  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

}  // namespace

int runTrain(const std::string& path, const codegen::Options& codegenOpts, bool mpi,
             const std::vector<std::string>& driverArgs) {
  const MpiLaunch job = mpiLaunch();
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
  // Every process of an MPI job compiles the same model: rank 0 alone prints its diagnostics, the others hold
  // theirs, shown only when rank 0 compiled and they did not (a file that differs on another machine).
  const bool together = mpi && job.size > 1;
  HeldStderr held(together && job.rank != 0);
  auto jit = compileJit(path, codegenOpts, /*needsTrain=*/true, "train");
  const std::string heldText = held.release();
#if SINTER_WITH_MPI
  if (together) {
    const int failed = rt::mpiJobReady(jit != nullptr);
    if (failed >= 0) {
      if (failed == job.rank && failed != 0)
        fmt::print(stderr, "error: rank {} of {} could not compile {}, which rank 0 compiled:\n{}", job.rank, job.size,
                   path, heldText);
      rt::mpiEndJob();
      return 1;
    }
  }
#endif
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
