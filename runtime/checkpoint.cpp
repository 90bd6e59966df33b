#include "runtime/checkpoint.h"

#include "runtime/error.h"
#include "runtime/init.h"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <vector>

namespace sinter::rt {
namespace {

// The data section is written with memcpy; a big-endian port would need byte swaps here.
static_assert(std::endian::native == std::endian::little, "checkpoints assume a little-endian host");

using json = nlohmann::json;

std::string errnoText() { return std::strerror(errno); }

std::string shapeText(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

std::vector<int64_t> modelShape(const sinter_tensor_desc& t) { return std::vector<int64_t>(t.dims, t.dims + t.rank); }

std::string paramName(const sinter_tensor_desc& t) { return t.name ? t.name : ""; }

// The safetensors name of a floating dtype.
const char* dtypeName(int32_t dtype) { return dtype == SINTER_F64 ? "F64" : "F32"; }
uint64_t elementBytes(int32_t dtype) { return dtype == SINTER_F64 ? 8 : 4; }

// Params must be f32 or f64 with fixed dims: the only tensors a checkpoint holds.
int64_t checkedParamCount(const std::string& path, const sinter_tensor_desc& t) {
  if (t.dtype != SINTER_F32 && t.dtype != SINTER_F64)
    throw Error(path + ": param '" + paramName(t) + "' is not f32 or f64; checkpoints hold floating params only");
  try {
    return fixedElementCount(t);
  } catch (const std::exception& e) {
    throw Error(path + ": " + e.what());
  }
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Writes all of [data, data+n) to fd, retrying short writes.
void writeAll(int fd, const void* data, size_t n, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw IoError(path + ": write failed: " + errnoText());
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void hashBytes(uint64_t& h, const void* data, size_t n) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
}

void hashTensors(uint64_t& h, const sinter_tensor_desc* ts, int32_t n) {
  hashBytes(h, &n, sizeof n);
  for (int32_t i = 0; i < n; ++i) {
    const std::string name = paramName(ts[i]);
    hashBytes(h, name.c_str(), name.size() + 1);
    hashBytes(h, &ts[i].dtype, sizeof ts[i].dtype);
    hashBytes(h, &ts[i].rank, sizeof ts[i].rank);
    for (int32_t d = 0; d < ts[i].rank; ++d) hashBytes(h, &ts[i].dims[d], sizeof(int64_t));
  }
}

}  // namespace

std::string structureHash(const sinter_model_desc& model) {
  uint64_t h = 0xcbf29ce484222325ull;
  hashTensors(h, model.inputs, model.num_inputs);
  hashTensors(h, model.params, model.num_params);
  hashTensors(h, model.outputs, model.num_outputs);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

void saveCheckpoint(const std::string& path, const sinter_model_desc& model, const void* const* params,
                    const CheckpointExtras* extras) {
  json header = json::object();
  header["__metadata__"] = {
      {"format", "pt"}, {"sinter_model", model.name ? model.name : ""}, {"sinter_structure", structureHash(model)}};
  if (extras)
    for (const auto& [k, v] : extras->metadata) header["__metadata__"][k] = v;
  uint64_t offset = 0;
  std::vector<uint64_t> bytes(static_cast<size_t>(model.num_params));
  for (int32_t i = 0; i < model.num_params; ++i) {
    const sinter_tensor_desc& t = model.params[i];
    const std::string name = paramName(t);
    if (name.empty() || name == "__metadata__" || header.contains(name))
      throw Error(path + ": cannot save param named '" + name + "': empty, reserved or duplicate");
    bytes[i] = static_cast<uint64_t>(checkedParamCount(path, t)) * elementBytes(t.dtype);
    header[name] = {
        {"dtype", dtypeName(t.dtype)}, {"shape", modelShape(t)}, {"data_offsets", {offset, offset + bytes[i]}}};
    offset += bytes[i];
  }
  std::vector<uint64_t> extraBytes;
  if (extras)
    for (const ExtraTensor& t : extras->tensors) {
      uint64_t n = 1;
      for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
      if (t.name.find('/') == std::string::npos || header.contains(t.name))
        throw Error(path + ": cannot save extra tensor named '" + t.name + "': it needs a '/' and a unique name");
      extraBytes.push_back(n * elementBytes(t.dtype));
      header[t.name] = {
          {"dtype", dtypeName(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + extraBytes.back()}}};
      offset += extraBytes.back();
    }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t headerLen = text.size();  // little-endian on disk: see the static_assert

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(tmp + ": cannot create checkpoint: " + errnoText());
  try {
    writeAll(fd, &headerLen, sizeof headerLen, tmp);
    writeAll(fd, text.data(), text.size(), tmp);
    for (int32_t i = 0; i < model.num_params; ++i) writeAll(fd, params[i], bytes[i], tmp);
    for (size_t i = 0; i < extraBytes.size(); ++i) writeAll(fd, extras->tensors[i].data, extraBytes[i], tmp);
    if (::fsync(fd) != 0) throw IoError(tmp + ": fsync failed: " + errnoText());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw IoError(tmp + ": close failed: " + errnoText());
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errnoText();
    ::unlink(tmp.c_str());
    throw IoError(path + ": cannot rename " + tmp + " over it: " + why);
  }
  // Make the rename itself durable; failing to open the directory is no reason to fail the save.
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::map<std::string, std::string> loadCheckpoint(const std::string& path, const sinter_model_desc& model,
                                                  void* const* params, const CheckpointExtras* extras) {
  const std::string where = "checkpoint " + path;
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) throw IoError(where + ": cannot open: " + errnoText());
  if (std::fseek(f.get(), 0, SEEK_END) != 0) throw IoError(where + ": cannot seek: " + errnoText());
  const long endPos = std::ftell(f.get());
  if (endPos < 0) throw IoError(where + ": cannot tell its size: " + errnoText());
  const uint64_t fileSize = static_cast<uint64_t>(endPos);
  std::rewind(f.get());

  uint64_t headerLen = 0;
  if (fileSize < 8 || std::fread(&headerLen, 8, 1, f.get()) != 1)
    throw Error(where + ": too short to be a safetensors file (" + std::to_string(fileSize) + " bytes)");
  if (headerLen > kCheckpointMaxHeader || headerLen > fileSize - 8)
    throw Error(where + ": header length " + std::to_string(headerLen) + " is impossible for a file of " +
                std::to_string(fileSize) + " bytes; not a safetensors file or truncated");
  std::string text(static_cast<size_t>(headerLen), '\0');
  if (headerLen > 0 && std::fread(text.data(), 1, text.size(), f.get()) != text.size())
    throw IoError(where + ": cannot read the header: " + errnoText());
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(where + ": invalid JSON header: " + e.what());
  }
  if (!header.is_object()) throw Error(where + ": the JSON header is not an object");
  const uint64_t dataStart = 8 + headerLen;
  const uint64_t dataSize = fileSize - dataStart;

  // Check every tensor before writing any, so that a bad file leaves the params untouched.
  struct Slice {
    uint64_t begin, bytes;
    void* dest;
  };
  std::vector<Slice> slices;
  std::set<std::string> known;
  auto expect = [&](const std::string& name, const std::vector<int64_t>& modelShape, int32_t dtype, void* dest,
                    const char* what) {
    known.insert(name);
    const auto it = header.find(name);
    if (it == header.end()) throw Error(where + ": " + what + " '" + name + "' of the model is missing");
    const json& e = *it;
    const std::string bad = where + ": tensor '" + name + "': ";
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      throw Error(bad + "entry needs dtype, shape and data_offsets");
    if (!e["dtype"].is_string() || e["dtype"] != dtypeName(dtype))
      throw Error(bad + "dtype " + e["dtype"].dump() + " in the file, the model needs " + dtypeName(dtype));
    std::vector<int64_t> shape;
    if (!e["shape"].is_array()) throw Error(bad + "shape is not an array");
    for (const json& d : e["shape"]) {
      if (!d.is_number_unsigned()) throw Error(bad + "shape " + e["shape"].dump() + " has an invalid dimension");
      shape.push_back(d.get<int64_t>());
    }
    if (shape != modelShape)
      throw Error(bad + "shape " + shapeText(shape) + " in the file but " + shapeText(modelShape) + " in the model");
    uint64_t want = elementBytes(dtype);
    for (int64_t d : shape) want *= static_cast<uint64_t>(d);
    const json& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw Error(bad + "data_offsets " + off.dump() + " is not a pair of offsets");
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > dataSize)
      throw Error(bad + "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                  "] out of range: the data section has " + std::to_string(dataSize) + " bytes (truncated file?)");
    if (end - begin != want)
      throw Error(bad + "data_offsets span " + std::to_string(end - begin) + " bytes, shape " + shapeText(shape) +
                  " needs " + std::to_string(want));
    slices.push_back({begin, want, dest});
  };
  for (int32_t i = 0; i < model.num_params; ++i) {
    const sinter_tensor_desc& t = model.params[i];
    checkedParamCount(where, t);
    expect(paramName(t), modelShape(t), t.dtype, params[i], "param");
  }
  if (extras)
    for (const ExtraTensor& t : extras->tensors) expect(t.name, t.shape, t.dtype, t.data, "optimizer state");
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__" || known.count(key) || key.find('/') != std::string::npos) continue;
    throw Error(where + ": holds tensor '" + key + "' that model '" + (model.name ? model.name : "") +
                "' does not have (a checkpoint of another model?)");
  }
  std::map<std::string, std::string> metadata;
  if (const auto it = header.find("__metadata__"); it != header.end() && it->is_object())
    for (const auto& [k, v] : it->items())
      if (v.is_string()) metadata[k] = v.get<std::string>();
  if (const auto it = metadata.find("sinter_structure"); it != metadata.end() && it->second != structureHash(model)) {
    const auto name = metadata.find("sinter_model");
    throw Error(where + ": written by model '" + (name != metadata.end() ? name->second : "") + "' of structure " +
                it->second + ", but model '" + (model.name ? model.name : "") + "' has structure " +
                structureHash(model) + " (its inputs or outputs differ)");
  }

  for (const Slice& sl : slices) {
    if (sl.bytes == 0) continue;
    if (std::fseek(f.get(), static_cast<long>(dataStart + sl.begin), SEEK_SET) != 0 ||
        std::fread(sl.dest, 1, sl.bytes, f.get()) != sl.bytes)
      throw IoError(where + ": cannot read the data at offset " + std::to_string(sl.begin));
  }
  return metadata;
}

}  // namespace sinter::rt
