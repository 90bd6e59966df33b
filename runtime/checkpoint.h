// Checkpoints of a model's parameters in the safetensors format: the `safetensors` package reads them where it
// is installed (Debian 12 has none, and torch 1.13's torch.load cannot); python/sinter's read_weights and its
// state_dict helpers read and write them with NumPy alone.
//
// File: an 8-byte little-endian u64 N, then N bytes of JSON header padded with spaces to a multiple of 8:
//   {"__metadata__":{"format":"pt","sinter_model":"<model name>"},
//    "<param name>":{"dtype":"F32","shape":[...],"data_offsets":[begin,end]}, ...}
// ("F64" for an f64 param or optimizer state)
// then the raw little-endian data; offsets are relative to the first byte after the header.
#pragma once

#include <sinter/model_abi.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sinter::rt {

// Largest JSON header accepted on load (the limit of the safetensors reference implementation).
inline constexpr uint64_t kCheckpointMaxHeader = 100'000'000;

// A tensor stored besides the params (optimizer state): `shape`, elements of `dtype` at `data`.
struct ExtraTensor {
  std::string name;
  std::vector<int64_t> shape;
  void* data;
  int32_t dtype = SINTER_F32;  // SINTER_F32 or SINTER_F64
};

// What a training checkpoint holds besides the weights: string metadata (merged into __metadata__, which
// safetensors restricts to strings) and extra tensors. Extra tensor names contain '/', which param names
// never do, so they cannot collide with a param.
struct CheckpointExtras {
  std::map<std::string, std::string> metadata;
  std::vector<ExtraTensor> tensors;
};

// Writes every param of `model` (params[i] holds param i, f32 or f64 with fixed dims) to `path`
// atomically: into "<path>.tmp", flushed and fsynced, then renamed over path, so that a crash leaves
// either the old file or the new one. A symbolic link is written through (its target is replaced, the
// link stays); a path that is a device node, FIFO, socket or directory is refused. The metadata records
// the CRC-32 of every tensor ("sinter_crc32:<name>"). Throws sinter::rt::Error naming the file on any
// failure (IoError when the file cannot be created or written).
void saveCheckpoint(const std::string& path, const sinter_model_desc& model, const void* const* params,
                    const CheckpointExtras* extras = nullptr);

// The __metadata__ of the checkpoint at `path` (its header read and checked, no tensor). Throws as
// loadCheckpoint does.
std::map<std::string, std::string> checkpointMetadata(const std::string& path);

// Reads the params of `model` from `path` into params[i], and each tensor of extras->tensors (which must
// be present with its shape) into its data. Tensors whose name contains '/' that extras does not ask for
// are ignored, so a training checkpoint loads as plain weights. Only the params are compared (names,
// dtypes, shapes): the weights of a model trained with a loss load into its label-free twin; a difference
// is named with the model that wrote the file (metadata "sinter_model"). Returns the file's __metadata__.
// Validates the whole header before writing any param, so that a bad header leaves them untouched: a
// regular file, header length sane, JSON valid, metadata all strings, every entry well formed (known
// dtype, shape, offsets spanning exactly its bytes) and the entries tiling the data section without
// overlap or gap, every param present with the model's dtype (F32 or F64) and shape, no tensor the model
// lacks. Then, while reading, each tensor's CRC-32 (when the file records one) and that every value is
// finite. Throws sinter::rt::Error (IoError when the file cannot be opened or read) naming the file and
// the tensor at fault (with both shapes for a shape mismatch). A CRC mismatch, a non-finite value or an
// I/O error while reading the data can leave params partly loaded: load into copies when that matters.
std::map<std::string, std::string> loadCheckpoint(const std::string& path, const sinter_model_desc& model,
                                                  void* const* params, const CheckpointExtras* extras = nullptr);

}  // namespace sinter::rt
