// The statistics of --normalize standard saved with the weights, so that `sinter run` standardizes a test
// set as training did from the weights file alone, without the training data to fit them again.
//
// Stored as two f32 tensors [features] beside the params, "normalize/mean" and "normalize/inv_std" (the
// reciprocal standard deviations the driver multiplies by), and the metadata "sinter_normalize":
// "standard". Their names hold a '/', so a plain load of the weights (the C API's) ignores them.
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

}  // namespace sinter::rt
