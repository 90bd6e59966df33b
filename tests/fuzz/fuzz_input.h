// What the runtime's fuzz targets share: the readers take file names, so each input is written to one
// scratch file per process (in TMPDIR) and read back through the real entry point.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace sinter::fuzz {

// The scratch file of this process, removed when the fuzzer exits.
struct ScratchFile {
  std::string path;
  ~ScratchFile() {
    if (!path.empty()) std::remove(path.c_str());
  }
};

// Writes the bytes to this process's scratch file with `suffix` and returns its path.
inline std::string writeInput(const std::uint8_t* data, std::size_t size, const char* suffix) {
  static ScratchFile scratch;
  const char* tmp = std::getenv("TMPDIR");
  const std::string path = std::string(tmp && *tmp ? tmp : "/tmp") + "/sinter-fuzz-" + std::to_string(::getpid()) + suffix;
  scratch.path = path;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();  // the harness itself is broken: stop loudly
  if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

}  // namespace sinter::fuzz
