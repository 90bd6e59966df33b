#include "runtime/communicator.h"

#include <cstring>

namespace sinter::rt {

void SingleProcess::allgather(const void* send, const int64_t* bytes, void* recv) {
  if (send != recv && bytes[0] > 0) std::memmove(recv, send, static_cast<size_t>(bytes[0]));
}

}  // namespace sinter::rt
