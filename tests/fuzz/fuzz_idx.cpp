// libFuzzer target for the IDX reader: any bytes, plain or gzip (zlib's gzread takes both), give the data
// or a sinter::rt::Error naming the file; never a crash, a sanitizer report, a leak or a huge allocation.
#include "fuzz_input.h"
#include "runtime/error.h"
#include "runtime/idx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = sinter::fuzz::writeInput(data, size, ".idx");
  try {
    const sinter::rt::IdxData d = sinter::rt::readIdx(path);
    std::size_t n = d.dims.empty() ? 0 : 1;
    for (std::uint32_t dim : d.dims) n *= dim;
    if (n != d.data.size()) __builtin_trap();  // the dims must describe the data returned
  } catch (const sinter::rt::Error&) {
  }
  return 0;
}
