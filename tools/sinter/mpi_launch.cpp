#include "tools/sinter/mpi_launch.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace sinter::tool {
namespace {

int envInt(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : -1;
}

}  // namespace

MpiLaunch mpiLaunch() {
  for (auto [size, rank] :
       {std::pair{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"}, std::pair{"PMI_SIZE", "PMI_RANK"}})
    if (envInt(size) > 0) return {envInt(size), std::max(0, envInt(rank))};
  return {};
}

}  // namespace sinter::tool
