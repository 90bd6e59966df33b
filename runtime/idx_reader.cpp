#include "runtime/idx_reader.h"

#include "runtime/error.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

namespace sinter::rt {
namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// Reads up to n bytes; returns how many were read (fewer only at the end of the data). Throws on a read
// error or a corrupt stream, which zlib reports through gzerror.
int64_t readSome(gzFile f, const std::string& path, uint8_t* out, int64_t n) {
  int64_t got = 0;
  while (got < n) {
    const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(n - got, 1 << 20));
    errno = 0;
    const int r = gzread(f, out + got, chunk);
    if (r < 0) {
      int code = 0;
      const char* msg = gzerror(f, &code);
      std::string why = code == Z_ERRNO ? std::strerror(errno) : (msg ? msg : "read error");
      throw Error(path + ": read error: " + why);
    }
    if (r == 0) break;
    got += r;
  }
  // A truncated gzip stream returns its bytes and then flags the error; report it as truncation below
  // rather than as a zlib message, which is why the error state is not checked here.
  return got;
}

uint32_t bigEndian32(const uint8_t* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

const char* typeName(unsigned t) {
  switch (t) {
    case 0x09: return "i8";
    case 0x0B: return "i16";
    case 0x0C: return "i32";
    case 0x0D: return "f32";
    case 0x0E: return "f64";
    default: return nullptr;
  }
}

}  // namespace

IdxData readIdx(const std::string& path) {
  // gzopen accepts a directory and its first read fails with a bare "Is a directory": say it plainly.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw IoError(path + ": is a directory, not a file");
  errno = 0;
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) {
    const std::string why = errno == ENOENT ? "file not found" : errno ? std::strerror(errno) : "cannot open";
    throw Error(path + ": " + why);
  }

  uint8_t head[4];
  const int64_t headGot = readSome(f.get(), path, head, 4);
  if (headGot < 4)
    throw Error(path + ": not an IDX file: " + std::to_string(headGot) + " bytes, too short for the magic number");
  const uint32_t magic = bigEndian32(head);
  if (head[0] != 0 || head[1] != 0 || head[3] == 0)
    throw Error(path + ": not an IDX file: bad magic number " + hex32(magic) +
                " (expected 0x00000803 for images or 0x00000801 for labels)");
  if (head[2] != 0x08) {
    const char* t = typeName(head[2]);
    throw Error(path + ": unsupported IDX element type " + (t ? std::string(t) : hex32(head[2])) + " (magic " +
                hex32(magic) + "); only u8 (0x08) is supported");
  }

  const unsigned rank = head[3];
  std::vector<uint8_t> dimBytes(4 * size_t{rank});
  if (readSome(f.get(), path, dimBytes.data(), 4 * int64_t{rank}) < 4 * int64_t{rank})
    throw Error(path + ": truncated IDX header: expected " + std::to_string(rank) + " dimensions");

  IdxData out;
  uint64_t total = 1, bound = 1;
  std::string shape;
  for (unsigned i = 0; i < rank; ++i) {
    const uint32_t d = bigEndian32(&dimBytes[std::size_t{4} * i]);
    out.dims.push_back(d);
    shape += (i ? "x" : "") + std::to_string(d);
    // bound <= 2^32 before the multiplication and d < 2^32, so the u64 product cannot wrap. Zero dims
    // count as 1 in `bound` so that [0, 2^32-1, 2^32-1] cannot overflow the products that users of
    // the dims compute (features per sample).
    total *= d;
    bound *= std::max<uint32_t>(d, 1);
    if (bound > static_cast<uint64_t>(kIdxMaxBytes))
      throw Error(path + ": IDX dimensions " + shape + "... are too large (more than " + std::to_string(kIdxMaxBytes) +
                  " bytes); the file is corrupt");
  }

  // Grow the buffer as data actually arrives, doubling from 64 KiB up to steps of 64 MiB, so that a lying
  // header in a short file cannot make the reader allocate (and zero) gigabytes, nor even 64 MiB: the
  // fuzzer found 19-byte files that cost a second each that way.
  const int64_t size = static_cast<int64_t>(total);
  int64_t got = 0;
  while (got < size) {
    const int64_t want = std::min<int64_t>(size - got, std::clamp<int64_t>(got, int64_t{64} << 10, int64_t{64} << 20));
    out.data.resize(static_cast<size_t>(got + want));
    const int64_t r = readSome(f.get(), path, out.data.data() + got, want);
    got += r;
    if (r < want) break;
  }
  if (got < size)
    throw Error(path + ": truncated IDX file: expected " + std::to_string(size) + " bytes of data (dimensions " +
                shape + "), file has " + std::to_string(got));
  uint8_t extra;
  if (readSome(f.get(), path, &extra, 1) != 0)
    throw Error(path + ": IDX file has bytes after the " + std::to_string(total) + " bytes of data that dimensions " +
                shape + " describe");
  return out;
}

}  // namespace sinter::rt
