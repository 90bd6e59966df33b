// The extra inputs of a model, after the samples and the target: masks, lengths, any per-sample data the model
// reads as it is. Each comes from its own NPY or IDX file [n, ...] bound with --input NAME=FILE (or
// --test-input), is checked against the model and its split, shuffled with the samples and fed unscaled.
#pragma once

#include "runtime/dataset.h"
#include "runtime/model_layout.h"

#include <sinter/model_abi.h>

#include <cstdint>
#include <map>
#include <string>

namespace sinter::rt {

// The files of one split's extra inputs, by model input.
using ExtraFiles = std::map<int32_t, std::string>;

// Reads every extra input of l from `files` (bound with `flag`) into d.extras. Throws Error naming the input
// and the file: an input with no file, a file whose values per sample or sample count do not fit, a value
// that is not finite, or not an integer an i32 input holds.
void attachExtras(const sinter_model_desc& m, const Layout& l, const ExtraFiles& files, const char* flag, Dataset& d);

// Copies the extra inputs of samples order[first..first+count) (first.. without an order) into their buffers.
void feedExtras(const Dataset& d, const int64_t* order, int64_t first, int64_t count, const Layout& l, Buffers& b);

}  // namespace sinter::rt
