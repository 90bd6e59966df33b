#include "runtime/extra_inputs.h"

#include "runtime/error.h"
#include "runtime/idx_reader.h"
#include "runtime/npy_reader.h"

#include <cmath>
#include <string>
#include <vector>

namespace sinter::rt {
namespace {

std::string str(const char* s) { return s ? s : ""; }

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// NPY values as read (at f32 precision, as the samples), IDX bytes as they are: a mask of 0 and 1 bytes
// stays 0 and 1, unlike IDX samples, which are scaled to [0, 1].
ExtraColumn readColumn(const std::string& file, std::vector<int64_t>& shape) {
  ExtraColumn c;
  c.source = file;
  if (file.ends_with(".npy")) {
    NpyArray a = readNpy(file);
    shape = std::move(a.shape);
    c.values = std::move(a.values);
  } else {
    IdxData a = readIdx(file);
    shape = std::move(a.dims);
    c.values.assign(a.data.begin(), a.data.end());
  }
  return c;
}

void checkValues(const sinter_tensor_desc& t, const ExtraColumn& c) {
  for (size_t k = 0; k < c.values.size(); ++k) {
    const float v = c.values[k];
    const bool integer = v == std::floor(v) && v >= -2147483648.0f && v < 2147483648.0f;
    if (std::isfinite(v) && (t.dtype != SINTER_I32 || integer)) continue;
    throw Error(c.source + ": element " + std::to_string(k % static_cast<size_t>(c.width)) + " of sample " +
                std::to_string(k / static_cast<size_t>(c.width)) + " is " + std::to_string(v) + ", " +
                (std::isfinite(v) ? "not an integer: model input '" + str(t.name) + "' is i32" : "not finite"));
  }
}

}  // namespace

void attachExtras(const sinter_model_desc& m, const Layout& l, const ExtraFiles& files, const char* flag, Dataset& d) {
  d.extras.clear();
  for (const ExtraInput& e : l.extras) {
    const sinter_tensor_desc& t = m.inputs[e.input];
    const std::string input = "model input '" + str(t.name) + "'";
    const auto file = files.find(e.input);
    if (file == files.end())
      throw Error(input + " has no data for " + d.source + ": pass " + flag + " " + str(t.name) +
                  "=FILE, an NPY or IDX file [n, ...] of its " + std::to_string(e.width) + " value" +
                  (e.width == 1 ? "" : "s") + " per sample");
    std::vector<int64_t> shape;
    ExtraColumn c = readColumn(file->second, shape);
    c.input = e.input;
    c.width = e.width;
    const int64_t rows = shape.empty() ? 0 : shape[0];
    if (shape.empty() || static_cast<int64_t>(c.values.size()) != rows * e.width)
      throw Error(file->second + " has shape " + shapeText(shape) + ": " + input + " takes " + std::to_string(e.width) +
                  " value" + (e.width == 1 ? "" : "s") + " per sample, [n" + (e.width == 1 ? "" : ", ...") + "] with " +
                  std::to_string(e.width) + " per row");
    if (rows != d.n)
      throw Error(file->second + " has " + std::to_string(rows) + " samples but " + d.source + " has " +
                  std::to_string(d.n) + ": " + input + " needs one row per sample");
    checkValues(t, c);
    d.extras.push_back(std::move(c));
  }
}

void feedExtras(const Dataset& d, const int64_t* order, int64_t first, int64_t count, const Layout& l, Buffers& b) {
  for (size_t i = 0; i < l.extras.size(); ++i) {
    const ExtraColumn& c = d.extras[i];
    void* out = b.inputs[l.extras[i].input].get();
    switch (l.extras[i].dtype) {
      case SINTER_F32: gatherExtra(c, order, first, count, static_cast<float*>(out)); break;
      case SINTER_F64: gatherExtra(c, order, first, count, static_cast<double*>(out)); break;
      case SINTER_I32: gatherExtra(c, order, first, count, static_cast<int32_t*>(out)); break;
      default: throw Error("extra input of unknown dtype " + std::to_string(l.extras[i].dtype));
    }
  }
}

}  // namespace sinter::rt
