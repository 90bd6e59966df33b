#include "runtime/dataset.h"

#include "runtime/error.h"
#include "runtime/idx_reader.h"
#include "runtime/npy_reader.h"
#include "runtime/philox.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sinter::rt {
namespace {

std::string shapeOf(const std::vector<int64_t>& dims, int64_t& features) {
  std::string s;
  features = 1;
  for (size_t i = 1; i < dims.size(); ++i) {
    features *= dims[i];
    s += (i > 1 ? "x" : "") + std::to_string(dims[i]);
  }
  return s;
}

// A uniform draw in [0, bound) for draw number `index` of a stream, by rejection on 64-bit values (the
// standard distributions are implementation-defined; this is the same everywhere).
uint64_t below(uint64_t seed, RandomPurpose purpose, uint32_t stream, uint64_t index, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  for (uint32_t attempt = 0;; ++attempt) {
    const PhiloxBlock b = draw(seed + attempt, purpose, stream, index);  // attempt > 0: odds ~ bound / 2^64
    const uint64_t x = join(b[0], b[1]);
    if (x < limit) return x % bound;
    const uint64_t y = join(b[2], b[3]);
    if (y < limit) return y % bound;
  }
}

std::vector<int64_t> permutation(int64_t n, uint64_t seed, RandomPurpose purpose, uint32_t stream) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), int64_t{0});
  for (int64_t i = n; i > 1; --i)
    std::swap(v[i - 1], v[below(seed, purpose, stream, static_cast<uint64_t>(i), static_cast<uint64_t>(i))]);
  return v;
}

}  // namespace

Dataset Dataset::subset(const std::vector<int64_t>& rows, const std::string& what) const {
  Dataset d;
  d.source = source + " (" + what + ")";
  if (!labelSource.empty()) d.labelSource = labelSource + " (" + what + ")";
  d.features = features;
  d.shapeText = shapeText;
  d.n = static_cast<int64_t>(rows.size());
  for (int64_t r : rows) {
    if (!pixels.empty())
      d.pixels.insert(d.pixels.end(), pixels.begin() + r * features, pixels.begin() + (r + 1) * features);
    else d.values.insert(d.values.end(), values.begin() + r * features, values.begin() + (r + 1) * features);
    if (!labels.empty())
      d.labels.insert(d.labels.end(), labels.begin() + r * labelWidth, labels.begin() + (r + 1) * labelWidth);
    d.targets.insert(d.targets.end(), targets.begin() + r * targetWidth, targets.begin() + (r + 1) * targetWidth);
  }
  d.targetWidth = targetWidth;
  d.labelWidth = labelWidth;
  for (const ExtraColumn& e : extras) {
    ExtraColumn& c = d.extras.emplace_back(ExtraColumn{e.input, e.source + " (" + what + ")", e.width, {}});
    for (int64_t r : rows)
      c.values.insert(c.values.end(), e.values.begin() + r * e.width, e.values.begin() + (r + 1) * e.width);
  }
  return d;
}

Dataset loadIdx(const std::string& imagesPath, const std::string& labelsPath, LabelKind kind) {
  IdxData images = readIdx(imagesPath), labels = readIdx(labelsPath);
  if (images.dims.size() < 2) throw Error(imagesPath + ": expected samples [n, rows, cols], the file has 1 dimension");
  if (labels.dims.size() != 1)
    throw Error(labelsPath + ": expected labels [n], the file has " + std::to_string(labels.dims.size()) +
                " dimensions");
  Dataset d;
  d.source = imagesPath;
  d.labelSource = labelsPath;
  d.n = images.dims[0];
  d.shapeText = shapeOf(images.dims, d.features);
  d.pixels = std::move(images.data);
  if (kind == LabelKind::Values) d.targets.assign(labels.data.begin(), labels.data.end()), d.targetWidth = 1;
  else d.labels.assign(labels.data.begin(), labels.data.end());
  return d;
}

Dataset loadNpy(const std::string& samplesPath, const std::string& labelsPath, LabelKind kind) {
  NpyArray x = readNpy(samplesPath), y = readNpy(labelsPath);
  if (x.shape.empty()) throw Error(samplesPath + ": expected samples [n, ...], the file holds a scalar");
  if (kind == LabelKind::Values && y.shape.empty())
    throw Error(labelsPath + ": expected targets [n, ...], the file holds a scalar");
  if (kind == LabelKind::StepClasses && y.shape.size() < 2)
    throw Error(labelsPath + ": expected labels per time step [n, T, ...], the file has " +
                std::to_string(y.shape.size()) + " dimension" + (y.shape.size() == 1 ? "" : "s"));
  if (kind == LabelKind::Classes && y.shape.size() != 1)
    throw Error(labelsPath + ": expected labels [n], the file has " + std::to_string(y.shape.size()) +
                " dimensions (a model whose target input is floating takes targets [n, ...])");
  Dataset d;
  d.source = samplesPath;
  d.labelSource = labelsPath;
  d.n = x.shape[0];
  d.shapeText = x.shape.size() == 1 ? "1" : shapeOf(x.shape, d.features);
  if (x.shape.size() == 1) d.features = 1;
  for (int64_t i = 0; i < d.n * d.features; ++i)
    if (!std::isfinite(x.values[i]))
      throw Error(samplesPath + ": element " + std::to_string(i) + " (sample " + std::to_string(i / d.features) +
                  ") is not finite");
  d.values = std::move(x.values);
  if (kind == LabelKind::Values) {
    d.targetWidth = 1;
    for (size_t k = 1; k < y.shape.size(); ++k) d.targetWidth *= y.shape[k];
    for (size_t i = 0; i < y.values.size(); ++i)
      if (!std::isfinite(y.values[i]))
        throw Error(labelsPath + ": target element " + std::to_string(i) + " (sample " +
                    std::to_string(static_cast<int64_t>(i) / std::max<int64_t>(d.targetWidth, 1)) + ") is not finite");
    d.targets = std::move(y.values);
    return d;
  }
  for (size_t k = 1; k < y.shape.size(); ++k) d.labelWidth *= y.shape[k];
  for (int64_t i = 0; i < y.shape[0] * d.labelWidth; ++i) {
    const float v = y.values[i];
    if (!(v >= 0) || v != std::floor(v) || v > 2147483647.0f)
      throw Error(labelsPath + ": label " + std::to_string(v) + " of sample " + std::to_string(i / d.labelWidth) +
                  " is not a class index (an integer >= 0)");
    d.labels.push_back(static_cast<int32_t>(v));
  }
  return d;
}

Normalizer Normalizer::fit(const Dataset& d) {
  Normalizer z;
  z.mean.assign(static_cast<size_t>(d.features), 0.0f);
  z.invStd.assign(static_cast<size_t>(d.features), 1.0f);
  for (int64_t j = 0; j < d.features; ++j) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < d.n; ++i) s += d.raw(i, j);
    const double mean = s / static_cast<double>(d.n);
    for (int64_t i = 0; i < d.n; ++i) s2 += (d.raw(i, j) - mean) * (d.raw(i, j) - mean);
    const double sd = std::sqrt(s2 / static_cast<double>(d.n));
    z.mean[j] = static_cast<float>(mean);
    z.invStd[j] = sd > 0 ? static_cast<float>(1.0 / sd) : 1.0f;
  }
  return z;
}

void splitValidation(const Dataset& all, double fraction, uint64_t seed, Dataset& train, Dataset& val) {
  const int64_t k = static_cast<int64_t>(std::llround(fraction * static_cast<double>(all.n)));
  if (k < 1 || k >= all.n)
    throw Error("a validation split of " + std::to_string(fraction) + " of " + std::to_string(all.n) +
                " samples leaves " + (k < 1 ? "no validation samples" : "no training samples"));
  const std::vector<int64_t> p = permutation(all.n, seed, RandomPurpose::Split, 0);
  std::vector<int64_t> v(p.begin(), p.begin() + k), t(p.begin() + k, p.end());
  std::sort(v.begin(), v.end());
  std::sort(t.begin(), t.end());
  val = all.subset(v, "validation");
  train = all.subset(t, "training");
}

std::vector<int64_t> epochOrder(int64_t n, uint64_t seed, int64_t epoch) {
  return permutation(n, seed, RandomPurpose::Shuffle, static_cast<uint32_t>(epoch));
}

void gather(const Dataset& d, const Normalizer& z, const int64_t* order, int64_t first, int64_t count, float* x,
            int32_t* y) {
  const int64_t f = d.features;
  const bool norm = !z.mean.empty();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k = order ? order[first + i] : first + i;
    float* row = x + i * f;
    if (!d.pixels.empty()) {
      const uint8_t* src = d.pixels.data() + k * f;
      for (int64_t j = 0; j < f; ++j) row[j] = static_cast<float>(src[j]) / 255.0f;
    } else {
      std::copy(d.values.begin() + k * f, d.values.begin() + (k + 1) * f, row);
    }
    if (norm)
      for (int64_t j = 0; j < f; ++j) row[j] = (row[j] - z.mean[j]) * z.invStd[j];
    if (!d.labels.empty()) std::copy_n(d.labels.begin() + k * d.labelWidth, d.labelWidth, y + i * d.labelWidth);
  }
}

void gatherTargets(const Dataset& d, const int64_t* order, int64_t first, int64_t count, float* t) {
  const int64_t w = d.targetWidth;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k = order ? order[first + i] : first + i;
    std::copy(d.targets.begin() + k * w, d.targets.begin() + (k + 1) * w, t + i * w);
  }
}

}  // namespace sinter::rt
