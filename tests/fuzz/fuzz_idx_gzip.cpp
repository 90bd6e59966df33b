// libFuzzer target for the IDX reader behind gzip: the input is an IDX file that is gzip-compressed before
// reading, so that the fuzzer explores IDX headers and data as MNIST's .gz files hold them (fuzz_idx.cpp
// feeds raw bytes, corrupt gzip streams included).
#include <zlib.h>

#include "fuzz_input.h"
#include "runtime/error.h"
#include "runtime/idx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = sinter::fuzz::writeInput(nullptr, 0, ".idx.gz");
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size > 0 && gzwrite(f, data, static_cast<unsigned>(size)) != static_cast<int>(size)) __builtin_trap();
  gzclose(f);
  try {
    (void)sinter::rt::readIdx(path);
  } catch (const sinter::rt::Error&) {
  }
  return 0;
}
