// libFuzzer target for the NPY reader: any bytes give an array whose shape covers its values, or a
// sinter::rt::Error naming the byte offset.
#include "fuzz_input.h"
#include "runtime/error.h"
#include "runtime/npy_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = sinter::fuzz::writeInput(data, size, ".npy");
  try {
    const sinter::rt::NpyArray a = sinter::rt::readNpy(path);
    std::size_t n = 1;
    for (std::int64_t d : a.shape) n *= static_cast<std::size_t>(d);
    if (n != a.values.size()) __builtin_trap();
  } catch (const sinter::rt::Error&) {
  }
  return 0;
}
