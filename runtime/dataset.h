// Training data in memory: samples (features) and integer labels, whatever file format they came from,
// with the per-feature normalization, the validation split and the batch gathering the driver needs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sinter::rt {

// The values of one extra input (model_layout.h ExtraInput) for every sample, n x width, read from its own
// file and fed as they are.
struct ExtraColumn {
  int32_t input = -1;  // the model input it feeds
  std::string source;  // its file, for messages
  int64_t width = 1;
  std::vector<float> values;  // as the samples, at f32 precision (integers up to 2^24 exactly)
};

struct Dataset {
  std::string source;       // the file it came from, for messages
  std::string labelSource;  // the labels' file when separate
  int64_t n = 0, features = 0;
  std::string shapeText;        // per-sample shape as read, e.g. "28x28"
  std::vector<uint8_t> pixels;  // IDX: u8 values, scaled to [0, 1] by gather
  std::vector<float> values;    // CSV, NPY: the values as read
  std::vector<int32_t> labels;  // class labels, n x labelWidth (per-time-step labels: labelWidth steps)
  int64_t labelWidth = 1;
  std::vector<float> targets;  // or floating targets, n x targetWidth (the driver's valueTarget)
  int64_t targetWidth = 0;
  std::vector<ExtraColumn> extras;  // the extra inputs' values, in the layout's order

  // Keeps only the samples `rows` (in that order).
  Dataset subset(const std::vector<int64_t>& rows, const std::string& what) const;
  // The value of feature j of sample i before normalization.
  float raw(int64_t i, int64_t j) const {
    return pixels.empty() ? values[i * features + j] : static_cast<float>(pixels[i * features + j]) / 255.0f;
  }
};

// What the labels file holds: class indices, one a sample or one a time step ([n, T, ...]: NPY only), or
// floating targets (a regression).
enum class LabelKind { Classes, StepClasses, Values };

// IDX images [n, ...] and labels [n] (gzip or plain). The caller checks that the counts agree (after
// checking the features, the more telling error).
Dataset loadIdx(const std::string& images, const std::string& labels, LabelKind kind = LabelKind::Classes);
// NPY samples [n, ...] (any supported dtype) and labels: class indices [n] (integers >= 0, possibly stored as
// floats), or finite values [n, ...].
Dataset loadNpy(const std::string& samples, const std::string& labels, LabelKind kind = LabelKind::Classes);

// Per-feature standardization x' = (x - mean) / std, with mean and std from the training set; a constant
// feature (std 0) is only centred. Inactive when empty.
struct Normalizer {
  std::vector<float> mean, invStd;
  static Normalizer fit(const Dataset& train);
};

// Splits off round(fraction * n) samples of `all` as the validation set, chosen by a permutation drawn
// from `seed` (Philox, purpose Split); both parts keep the file's order.
void splitValidation(const Dataset& all, double fraction, uint64_t seed, Dataset& train, Dataset& val);

// The permutation of [0, n) for epoch `epoch`: Fisher-Yates with Philox draws keyed by seed and epoch, so
// every epoch's order is computable on its own (a resumed run needs no replay).
std::vector<int64_t> epochOrder(int64_t n, uint64_t seed, int64_t epoch);

// Copies samples order[first..first+count) (first.. without an order) into x (count x features floats,
// normalized) and their class labels into y (count x labelWidth, when d has them).
void gather(const Dataset& d, const Normalizer& norm, const int64_t* order, int64_t first, int64_t count, float* x,
            int32_t* y);
// The same samples' floating targets, count x targetWidth.
void gatherTargets(const Dataset& d, const int64_t* order, int64_t first, int64_t count, float* t);
// The same samples' values of extra column e, count x e.width, converted to T (float, double or int32_t).
template <typename T>
void gatherExtra(const ExtraColumn& e, const int64_t* order, int64_t first, int64_t count, T* out) {
  for (int64_t i = 0; i < count; ++i) {
    const int64_t k = order ? order[first + i] : first + i;
    for (int64_t j = 0; j < e.width; ++j) out[i * e.width + j] = static_cast<T>(e.values[k * e.width + j]);
  }
}

}  // namespace sinter::rt
