#include "runtime/npy_reader.h"

#include "runtime/error.h"
#include "runtime/file_io.h"

#include <cstring>
#include <limits>

namespace sinter::rt {
namespace {

std::string at(const std::string& path, size_t offset) { return path + ": byte " + std::to_string(offset) + ": "; }

// The value of key `'key':` in the header dict, up to the next top-level ',' or '}' (a tuple counts as
// one value).
std::string dictValue(const std::string& path, size_t base, const std::string& h, const std::string& key) {
  const std::string k = "'" + key + "'";
  size_t p = h.find(k);
  if (p == std::string::npos) throw Error(at(path, base) + "header has no " + k + ": " + h);
  p = h.find(':', p + k.size());
  if (p == std::string::npos) throw Error(at(path, base) + "malformed header: " + h);
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  size_t e = p;
  int depth = 0;
  for (; e < h.size(); ++e) {
    if (h[e] == '(') ++depth;
    if (h[e] == ')') --depth;
    if (depth == 0 && (h[e] == ',' || h[e] == '}')) break;
  }
  std::string v = h.substr(p, e - p);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

}  // namespace

NpyArray readNpy(const std::string& path) {
  const std::string b = readFile(path);
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0)
    throw Error(at(path, 0) + "not an NPY file (magic \\x93NUMPY missing)");
  const int major = static_cast<unsigned char>(b[6]);
  if (major < 1 || major > 3) throw Error(at(path, 6) + "unsupported NPY version " + std::to_string(major));
  const size_t lenBytes = major == 1 ? 2 : 4;
  if (b.size() < 8 + lenBytes) throw Error(at(path, 8) + "truncated header length");
  size_t hlen = 0;
  for (size_t i = 0; i < lenBytes; ++i) hlen |= static_cast<size_t>(static_cast<unsigned char>(b[8 + i])) << (8 * i);
  const size_t hstart = 8 + lenBytes;
  if (hlen > b.size() - hstart)
    throw Error(at(path, 8) + "header length " + std::to_string(hlen) + " runs past the end of the file (" +
                std::to_string(b.size()) + " bytes)");
  const std::string h = b.substr(hstart, hlen);
  if (h.find('{') == std::string::npos || h.find('}') == std::string::npos)
    throw Error(at(path, hstart) + "malformed header: " + h);

  NpyArray a;
  std::string descr = dictValue(path, hstart, h, "descr");
  if (descr.size() < 3 || (descr.front() != '\'' && descr.front() != '"'))
    throw Error(at(path, hstart) + "malformed 'descr' " + descr);
  a.descr = descr.substr(1, descr.size() - 2);
  if (dictValue(path, hstart, h, "fortran_order") != "False")
    throw Error(at(path, hstart) + "Fortran-order arrays are not supported; save with np.ascontiguousarray");
  const std::string shape = dictValue(path, hstart, h, "shape");
  if (shape.size() < 2 || shape.front() != '(' || shape.back() != ')')
    throw Error(at(path, hstart) + "malformed 'shape' " + shape);
  uint64_t count = 1;
  for (size_t p = 1; p + 1 < shape.size();) {
    while (p + 1 < shape.size() && (shape[p] == ' ' || shape[p] == ',')) ++p;
    if (p + 1 >= shape.size()) break;
    uint64_t d = 0;
    size_t q = p;
    while (q + 1 < shape.size() && shape[q] >= '0' && shape[q] <= '9') {
      if (d > (std::numeric_limits<uint64_t>::max() - 9) / 10)
        throw Error(at(path, hstart) + "dimension too large in " + shape);
      d = d * 10 + static_cast<uint64_t>(shape[q++] - '0');
    }
    if (q == p) throw Error(at(path, hstart) + "malformed 'shape' " + shape);
    if (d != 0 && count > (uint64_t{1} << 40) / d) throw Error(at(path, hstart) + "shape " + shape + " is too large");
    count *= d;
    a.shape.push_back(static_cast<int64_t>(d));
    p = q;
  }

  const std::string& t = a.descr;
  if (t.size() < 3 || (t[0] != '<' && t[0] != '|' && t[0] != '=' && t[0] != '>'))
    throw Error(at(path, hstart) + "unsupported dtype '" + t + "'");
  if (t[0] == '>' && t != ">u1" && t != ">i1")
    throw Error(at(path, hstart) + "big-endian dtype '" + t + "' is not supported; convert with arr.astype('<" +
                t.substr(1) + "')");
  const std::string kind = t.substr(1);
  size_t esize = 0;
  if (kind == "f4" || kind == "i4" || kind == "u4") esize = 4;
  else if (kind == "f8" || kind == "i8") esize = 8;
  else if (kind == "u1" || kind == "i1" || kind == "b1") esize = 1;
  else if (kind == "u2" || kind == "i2") esize = 2;
  else throw Error(at(path, hstart) + "unsupported dtype '" + t + "' (supported: f4, f8, u1, i1, u2, i2, u4, i4, i8)");

  const size_t dataStart = hstart + hlen;
  const uint64_t want = count * esize, have = b.size() - dataStart;
  if (have != want)
    throw Error(at(path, dataStart) + "expected " + std::to_string(want) + " bytes of data for shape " + shape + " " +
                t + ", file has " + std::to_string(have) + (have < want ? " (truncated)" : " (trailing bytes)"));
  a.values.resize(count);
  const char* d = b.data() + dataStart;
  for (uint64_t i = 0; i < count; ++i, d += esize) {
    float v = 0;
    if (kind == "f4") {
      std::memcpy(&v, d, 4);
    } else if (kind == "f8") {
      double x;
      std::memcpy(&x, d, 8);
      v = static_cast<float>(x);
    } else if (kind == "u1" || kind == "b1") {
      v = static_cast<unsigned char>(*d);
    } else if (kind == "i1") {
      v = static_cast<signed char>(*d);
    } else if (kind == "u2") {
      uint16_t x;
      std::memcpy(&x, d, 2);
      v = x;
    } else if (kind == "i2") {
      int16_t x;
      std::memcpy(&x, d, 2);
      v = x;
    } else if (kind == "u4") {
      uint32_t x;
      std::memcpy(&x, d, 4);
      v = static_cast<float>(x);
    } else if (kind == "i4") {
      int32_t x;
      std::memcpy(&x, d, 4);
      v = static_cast<float>(x);
    } else {
      int64_t x;
      std::memcpy(&x, d, 8);
      v = static_cast<float>(x);
    }
    a.values[i] = v;
  }
  return a;
}

}  // namespace sinter::rt
