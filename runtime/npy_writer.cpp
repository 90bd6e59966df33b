#include "runtime/npy_writer.h"

#include "runtime/error.h"
#include "runtime/file_io.h"

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace sinter::rt {
namespace {

// The header dict, padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes
// (what numpy.save does; the format asks for 16).
std::string header(const std::vector<int64_t>& shape) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // (n,) keeps its comma: a one-element tuple
  else if (!dims.empty()) dims.pop_back();
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t prefix = 10;  // magic (6), version (2), header length (2)
  dict.append((64 - (prefix + dict.size() + 1) % 64) % 64, ' ');
  return dict + '\n';
}

}  // namespace

void writeNpy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& values) {
  static_assert(std::endian::native == std::endian::little, "the NPY data is written as this machine stores it");
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  if (count != static_cast<int64_t>(values.size()))
    throw Error(path + ": " + std::to_string(values.size()) + " values do not fill the array's " +
                std::to_string(count) + " elements");
  const std::string dict = header(shape);
  if (dict.size() > 0xffff)
    throw Error(path + ": the NPY header of " + std::to_string(shape.size()) + " dimensions is too long");
  // Through a symlink to its target; never over a device node or anything else that is not a file.
  const std::string target = atomicWriteTarget(path, "NPY file");
  const std::string tmp = target + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw IoError("cannot write '" + path + "': " + std::strerror(errno));
    const char length[2] = {static_cast<char>(dict.size() & 0xff), static_cast<char>(dict.size() >> 8)};
    out.write("\x93NUMPY\x01\x00", 8);
    out.write(length, 2);
    out.write(dict.data(), static_cast<std::streamsize>(dict.size()));
    out.write(reinterpret_cast<const char*>(values.data()),
              static_cast<std::streamsize>(values.size() * sizeof(float)));
    out.close();
    if (!out) {
      std::remove(tmp.c_str());
      throw IoError("cannot write '" + path + "': " + std::strerror(errno));
    }
  }
  if (std::rename(tmp.c_str(), target.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw IoError("cannot write '" + path + "': " + why);
  }
}

}  // namespace sinter::rt
