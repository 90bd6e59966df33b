// Linking a model's object file with the runtime: a training executable, a self-contained shared library
// that exports only the model's descriptor and the C API, or a static library.
#pragma once

#include <string>
#include <vector>

namespace sinter::tool {

struct LinkJob {
  std::vector<std::string> objects;  // the model's object files
  std::string output;                // the artifact to write
  std::string descriptor;            // the descriptor's symbol, exported by a shared library
  std::string triple;                // the target ("" for the host): picks the runtime and the cross linker
  bool mpi = false;                  // an executable: the MPI main() and libmpi
};

void linkExecutable(const LinkJob& job);
void linkShared(const LinkJob& job);
void archiveStatic(const LinkJob& job);

}  // namespace sinter::tool
