// Checkpoints of a model's parameters in the safetensors format, readable by NumPy and PyTorch users
// (safetensors.torch.load_file / safetensors.numpy.load_file).
//
// File: an 8-byte little-endian u64 N, then N bytes of JSON header padded with spaces to a multiple of 8:
//   {"__metadata__":{"format":"pt","sinter_model":"<model name>"},
//    "<param name>":{"dtype":"F32","shape":[...],"data_offsets":[begin,end]}, ...}
// then the raw little-endian data; offsets are relative to the first byte after the header.
#pragma once

#include <sinter/model_abi.h>

#include <string>

namespace sinter::rt {

// Largest JSON header accepted on load (the limit of the safetensors reference implementation).
inline constexpr uint64_t kCheckpointMaxHeader = 100'000'000;

// Writes every param of `model` (params[i] holds param i, all f32 with fixed dims) to `path`
// atomically: into "<path>.tmp", flushed and fsynced, then renamed over path, so that a crash leaves
// either the old file or the new one. Throws sinter::rt::Error naming the file on any failure.
void saveCheckpoint(const std::string& path, const sinter_model_desc& model, const float* const* params);

// Reads the params of `model` from `path` into params[i]. Validates the whole header before writing
// any param, so that a bad file leaves them untouched: file readable, header length sane, JSON valid,
// every param present with dtype F32 and the model's shape, offsets inside the data section, no tensor
// the model lacks. Throws sinter::rt::Error naming the file and the tensor at fault (with both shapes
// for a shape mismatch). Only an I/O error while reading the data can leave params partly loaded.
void loadCheckpoint(const std::string& path, const sinter_model_desc& model, float* const* params);

}  // namespace sinter::rt
