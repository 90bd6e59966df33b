// NPY reader (NumPy's .npy format, versions 1.0 to 3.0), for training data saved with numpy.save.
//
// File: "\x93NUMPY", major and minor version bytes, a little-endian header length (u16 in 1.0, u32 in
// 2.0 and 3.0), then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }
// padded with spaces and a newline, then the data in C order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sinter::rt {

struct NpyArray {
  std::vector<int64_t> shape;
  std::string descr;          // as in the file, e.g. "<f4"
  std::vector<float> values;  // every element converted to float, C order
};

// Reads the whole array. Element types: little-endian (or byte-sized) f4, f8, u1, i1, u2, i2, i4, i8.
// Every problem throws sinter::rt::Error naming the file and the byte offset: bad magic, unsupported
// version, malformed header, big-endian, Fortran order or an unsupported dtype, a shape whose size
// overflows, data shorter or longer than the shape says.
NpyArray readNpy(const std::string& path);

}  // namespace sinter::rt
