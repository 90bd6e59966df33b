#include "runtime/saved_normalizer.h"

#include "runtime/error.h"

namespace sinter::rt {
namespace {

constexpr const char* kKey = "sinter_normalize";
constexpr const char* kMean = "normalize/mean";
constexpr const char* kInvStd = "normalize/inv_std";

template <typename T>
void standardize(const Normalizer& z, const T* in, T* out, int64_t rows) {
  const size_t f = z.mean.size();
  for (size_t i = 0; i < static_cast<size_t>(rows); ++i)
    for (size_t j = 0; j < f; ++j)
      out[i * f + j] = (in[i * f + j] - static_cast<T>(z.mean[j])) * static_cast<T>(z.invStd[j]);
}

}  // namespace

void addNormalizer(CheckpointExtras& x, Normalizer& z) {
  if (z.mean.empty()) return;
  const std::vector<int64_t> shape = {static_cast<int64_t>(z.mean.size())};
  x.metadata[kKey] = "standard";
  x.tensors.push_back({kMean, shape, z.mean.data(), SINTER_F32});
  x.tensors.push_back({kInvStd, shape, z.invStd.data(), SINTER_F32});
}

bool hasSavedNormalizer(const std::string& path) {
  const std::map<std::string, std::string> meta = checkpointMetadata(path);
  const auto it = meta.find(kKey);
  return it != meta.end() && it->second == "standard";
}

void loadWithNormalizer(const std::string& path, const sinter_model_desc& m, void* const* params, int64_t features,
                        Normalizer& z) {
  z.mean.assign(static_cast<size_t>(features), 0.0f);
  z.invStd.assign(static_cast<size_t>(features), 1.0f);
  CheckpointExtras x;
  addNormalizer(x, z);
  loadCheckpoint(path, m, params, &x);
}

int64_t standardizedFeatures(const sinter_model_desc& m) {
  const std::string model = m.name ? m.name : "";
  if (m.num_inputs < 1) throw Error("model '" + model + "' has no input to standardize");
  const sinter_tensor_desc& t = m.inputs[0];
  bool fits = (t.dtype == SINTER_F32 || t.dtype == SINTER_F64) && t.rank >= 1 && t.dims[0] < 0;
  int64_t features = 1;
  for (int32_t d = 1; d < t.rank; ++d) {
    fits = fits && t.dims[d] >= 0;
    features *= t.dims[d];
  }
  if (!fits)
    throw Error("model '" + model + "': input '" + (t.name ? t.name : "") +
                "' is not a floating [batch, ...] tensor with fixed other dimensions, which --normalize standard "
                "statistics apply to");
  return features;
}

void standardizeRows(const Normalizer& z, int32_t dtype, const void* in, void* out, int64_t rows) {
  if (dtype == SINTER_F64) standardize(z, static_cast<const double*>(in), static_cast<double*>(out), rows);
  else standardize(z, static_cast<const float*>(in), static_cast<float*>(out), rows);
}

}  // namespace sinter::rt
