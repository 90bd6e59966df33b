// What the C API (sinter.h) refuses before it calls generated code, each with a message that names the
// argument or tensor at fault: a bad pointer or size must be an error code, never a crash or a wrong result.
#pragma once

#include "runtime/metrics.h"

#include <sinter/model_abi.h>

#include <cstdint>
#include <stdexcept>

namespace sinter::rt {

// A bad argument of a C API call: SINTER_ERROR_ARGUMENT.
struct ArgumentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A batch size in [1, 2^31].
void checkBatch(int64_t batch);

// `ptrs` and its `count` entries are not NULL; `what` names the array ("inputs"), descs name the entries.
void checkPointers(const void* const* ptrs, int32_t count, const sinter_tensor_desc* descs, const char* what);

// Bytes of tensor t at a batch size; an ArgumentError when they do not fit in 63 bits.
int64_t tensorBytes(const sinter_tensor_desc& t, int64_t batch);

// No output of a forward call overlaps another output, an input or a param. Generated kernels take distinct
// buffers for distinct memory (noalias), so such an output would be computed wrong without a sign.
void checkOutputsApart(const sinter_model_desc& m, int64_t batch, const void* const* inputs, const void* const* params,
                       void* const* outputs);

// Every label of the batch is in [0, classes). One outside has no prediction to match and makes
// cross_entropy NaN: the message names the sample instead.
void checkLabels(const sinter_model_desc& m, const AccuracyTensors& a, const void* labels, int64_t batch);

// A descriptor sinter_create can run: not NULL, this ABI version, a forward entry point and tensor lists.
// Throws Error with the reason.
void checkDescriptor(const sinter_model_desc* model);

}  // namespace sinter::rt
