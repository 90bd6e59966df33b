// Reader of IDX files (the MNIST format), plain or gzip-compressed.
//
// Layout: a big-endian u32 magic 0x0000TTNN (TT = element type, only 0x08 = u8 is supported; NN = number
// of dims), NN big-endian u32 dims, then the elements in row-major order. MNIST images are 0x00000803
// [n, rows, cols], labels 0x00000801 [n].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sinter::rt {

struct IdxData {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;  // product(dims) bytes
};

// Largest data the reader accepts; a header beyond it is rejected as corrupt before anything is
// allocated.
inline constexpr int64_t kIdxMaxBytes = int64_t{1} << 32;

// Reads `path` (gzip or not: zlib detects it). Throws sinter::rt::Error whose message names the file and
// the problem: not found / unreadable, bad magic, unsupported element type, dims too large, truncated
// ("expected N bytes of data, file has M"), trailing bytes, corrupt gzip stream.
IdxData readIdx(const std::string& path);

}  // namespace sinter::rt
