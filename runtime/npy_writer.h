// NPY writer (NumPy's .npy format 1.0, the inverse of npy_reader.h) for what `sinter run --predictions`
// writes: one little-endian float32 array in C order, readable with numpy.load.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sinter::rt {

// Writes `values` (the product of `shape` elements, C order) as an array of dtype '<f4'. The file appears
// whole or not at all: it is written to "<path>.tmp" and renamed over path. Throws IoError naming the file
// when it cannot be written, Error when values does not hold the shape's elements.
void writeNpy(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& values);

}  // namespace sinter::rt
