// The statistics of --normalize standard saved with the weights, so that `sinter run` standardizes a test
// set as training did from the weights file alone, without the training data to fit them again.
//
// Stored as two f32 tensors [features] beside the params, "normalize/mean" and "normalize/inv_std" (the
// reciprocal standard deviations the driver multiplies by), and the metadata "sinter_normalize":
// "standard". Their names hold a '/', so a plain load of the weights ignores them. The C API loads them with
// the weights and standardizes the samples input of every call (c_api.cpp).
#pragma once

#include "runtime/checkpoint.h"
#include "runtime/dataset.h"

#include <sinter/model_abi.h>

#include <string>

namespace sinter::rt {

// Adds z's statistics to x when z is active (fitted); x then points into z, which must outlive the save.
void addNormalizer(CheckpointExtras& x, Normalizer& z);

// Whether the checkpoint at `path` holds standardization statistics (reads its header only).
bool hasSavedNormalizer(const std::string& path);

// Loads the params of `m` from `path` into params and its statistics, for samples of `features` values,
// into z. Throws Error naming the file when they are missing or of another size.
void loadWithNormalizer(const std::string& path, const sinter_model_desc& m, void* const* params, int64_t features,
                        Normalizer& z);

// The samples input the statistics apply to: the model's first input, a floating [batch, ...] with fixed
// other dimensions (the training driver's samples input). Returns its values per sample; throws Error naming
// the model when its first input is not such a tensor.
int64_t standardizedFeatures(const sinter_model_desc& m);

// out = (in - mean) * inv_std for `rows` samples of z's features, in the dtype of the samples (f32 in f32 as
// the driver computes it, f64 in f64).
void standardizeRows(const Normalizer& z, int32_t dtype, const void* in, void* out, int64_t rows);

}  // namespace sinter::rt
