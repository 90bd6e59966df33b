#include "runtime/saved_normalizer.h"

namespace sinter::rt {
namespace {

constexpr const char* kKey = "sinter_normalize";
constexpr const char* kMean = "normalize/mean";
constexpr const char* kInvStd = "normalize/inv_std";

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

}  // namespace sinter::rt
