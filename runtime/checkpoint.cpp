#include "runtime/checkpoint.h"

#include "runtime/error.h"
#include "runtime/file_io.h"
#include "runtime/init.h"
#include "runtime/model_layout.h"

#include <zlib.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
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

// Metadata "sinter_crc32:<tensor>" holds the CRC-32 (zlib's, as 8 hex digits) of the tensor's bytes.
// Other safetensors readers ignore metadata, so the file stays plain safetensors.
constexpr const char* kChecksumKey = "sinter_crc32:";

uint32_t checksum(const void* data, uint64_t bytes) {
  return static_cast<uint32_t>(crc32_z(0, static_cast<const Bytef*>(data), static_cast<z_size_t>(bytes)));
}

std::string hex32(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

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

// What a save writes: the padded JSON header, then each tensor's bytes in data order.
struct SavePlan {
  std::string header;
  std::vector<std::pair<const void*, uint64_t>> tensors;
};

// The header of a save: the metadata (with a CRC-32 per tensor), then the params in ABI order and the
// extra tensors, contiguous in the data section.
SavePlan planSave(const std::string& path, const sinter_model_desc& model, const void* const* params,
                  const CheckpointExtras* extras) {
  json header = json::object();
  header["__metadata__"] = {{"format", "pt"}, {"sinter_model", model.name ? model.name : ""}};
  if (extras)
    for (const auto& [k, v] : extras->metadata) header["__metadata__"][k] = v;
  SavePlan plan;
  uint64_t offset = 0;
  auto add = [&](const std::string& name, int32_t dtype, const std::vector<int64_t>& shape, const void* data,
                 uint64_t bytes) {
    header["__metadata__"][kChecksumKey + name] = hex32(checksum(data, bytes));
    header[name] = {{"dtype", dtypeName(dtype)}, {"shape", shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    plan.tensors.emplace_back(data, bytes);
  };
  for (int32_t i = 0; i < model.num_params; ++i) {
    const sinter_tensor_desc& t = model.params[i];
    const std::string name = paramName(t);
    if (name.empty() || name == "__metadata__" || header.contains(name))
      throw Error(path + ": cannot save param named '" + name + "': empty, reserved or duplicate");
    add(name, t.dtype, modelShape(t), params[i],
        static_cast<uint64_t>(checkedParamCount(path, t)) * elementBytes(t.dtype));
  }
  if (extras)
    for (const ExtraTensor& t : extras->tensors) {
      uint64_t n = 1;
      for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
      if (t.name.find('/') == std::string::npos || header.contains(t.name))
        throw Error(path + ": cannot save extra tensor named '" + t.name + "': it needs a '/' and a unique name");
      add(t.name, t.dtype, t.shape, t.data, n * elementBytes(t.dtype));
    }
  plan.header = header.dump();
  plan.header.append((8 - plan.header.size() % 8) % 8, ' ');
  return plan;
}

// Writes the plan into "<target>.tmp", fsyncs it, renames it over target and fsyncs the directory.
void writeAtomically(const std::string& target, const SavePlan& plan) {
  const std::string tmp = target + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(tmp + ": cannot create checkpoint: " + errnoText());
  try {
    const uint64_t headerLen = plan.header.size();  // little-endian on disk: see the static_assert
    writeAll(fd, &headerLen, sizeof headerLen, tmp);
    writeAll(fd, plan.header.data(), plan.header.size(), tmp);
    for (const auto& [data, bytes] : plan.tensors) writeAll(fd, data, bytes, tmp);
    if (!syncFd(fd)) throw IoError(tmp + ": fsync failed: " + errnoText());
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw IoError(tmp + ": close failed: " + errnoText());
  }
  if (std::rename(tmp.c_str(), target.c_str()) != 0) {
    const std::string why = errnoText();
    ::unlink(tmp.c_str());
    throw IoError(target + ": cannot rename " + tmp + " over it: " + why);
  }
  // Make the rename itself durable; failing to open the directory is no reason to fail the save.
  std::filesystem::path dir = std::filesystem::path(target).parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    syncFd(dfd);
    ::close(dfd);
  }
}

}  // namespace

void saveCheckpoint(const std::string& path, const sinter_model_desc& model, const void* const* params,
                    const CheckpointExtras* extras) {
  const SavePlan plan = planSave(path, model, params, extras);
  // Through a symlink to its target; never over a device node or anything else that is not a file.
  writeAtomically(atomicWriteTarget(path, "checkpoint"), plan);
}

namespace {

// The part of a checkpoint file that loading has checked: the parsed header and where the data lies.
struct Header {
  json entries;                                 // the JSON object, __metadata__ included
  std::map<std::string, std::string> metadata;  // __metadata__: strings only, as safetensors requires
  uint64_t dataStart = 0, dataSize = 0;         // the data section: its offset in the file and its bytes
};

// One tensor entry of the header, checked on its own: a known dtype, a shape of non-negative dims, and
// offsets inside the data section that span exactly the bytes of that dtype and shape.
struct Entry {
  std::string name, dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;
};

// Bytes per element of the safetensors dtypes (the format's list); 0 for an unknown name.
uint64_t safetensorsDtypeBytes(const std::string& dtype) {
  static const std::map<std::string, uint64_t> sizes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2}, {"F16", 2},
      {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4},     {"F64", 8},     {"I64", 8}, {"U64", 8}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

// Opens the file and reads its header: the length, the JSON object and the metadata, all checked.
Header readHeader(int fd, const std::string& where) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw IoError(where + ": cannot stat: " + errnoText());
  if (S_ISDIR(st.st_mode)) throw IoError(where + ": is a directory, not a file");
  if (!S_ISREG(st.st_mode)) throw IoError(where + ": not a regular file");
  const uint64_t fileSize = static_cast<uint64_t>(st.st_size);
  uint64_t headerLen = 0;
  if (fileSize < 8 || ::pread(fd, &headerLen, 8, 0) != 8)
    throw Error(where + ": too short to be a safetensors file (" + std::to_string(fileSize) + " bytes)");
  if (headerLen > kCheckpointMaxHeader || headerLen > fileSize - 8)
    throw Error(where + ": header length " + std::to_string(headerLen) + " is impossible for a file of " +
                std::to_string(fileSize) + " bytes; not a safetensors file or truncated");
  std::string text(static_cast<size_t>(headerLen), '\0');
  if (headerLen > 0 && ::pread(fd, text.data(), text.size(), 8) != static_cast<ssize_t>(text.size()))
    throw IoError(where + ": cannot read the header: " + errnoText());
  Header h;
  try {
    h.entries = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(where + ": invalid JSON header: " + e.what());
  }
  if (!h.entries.is_object()) throw Error(where + ": the JSON header is not an object");
  h.dataStart = 8 + headerLen;
  h.dataSize = fileSize - h.dataStart;
  if (const auto it = h.entries.find("__metadata__"); it != h.entries.end()) {
    if (!it->is_object()) throw Error(where + ": __metadata__ is not an object");
    for (const auto& [k, v] : it->items()) {
      if (!v.is_string()) throw Error(where + ": metadata '" + k + "' is not a string: " + v.dump());
      h.metadata[k] = v.get<std::string>();
    }
  }
  return h;
}

Entry parseEntry(const std::string& name, const json& e, uint64_t dataSize, const std::string& where) {
  const std::string bad = where + ": tensor '" + name + "': ";
  if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
    throw Error(bad + "entry needs dtype, shape and data_offsets");
  for (const auto& [key, value] : e.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets") throw Error(bad + "unknown field '" + key + "'");
  Entry t;
  t.name = name;
  if (!e["dtype"].is_string()) throw Error(bad + "dtype " + e["dtype"].dump() + " is not a string");
  t.dtype = e["dtype"].get<std::string>();
  uint64_t bytes = safetensorsDtypeBytes(t.dtype);
  if (bytes == 0) throw Error(bad + "unknown dtype " + e["dtype"].dump());
  if (!e["shape"].is_array()) throw Error(bad + "shape is not an array");
  for (const json& d : e["shape"]) {
    if (!d.is_number_unsigned() || d.get<uint64_t>() > uint64_t{INT64_MAX})
      throw Error(bad + "shape " + e["shape"].dump() + " has an invalid dimension");
    if (__builtin_mul_overflow(bytes, d.get<uint64_t>(), &bytes))
      throw Error(bad + "shape " + e["shape"].dump() + " is too large");
    t.shape.push_back(d.get<int64_t>());
  }
  const json& off = e["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    throw Error(bad + "data_offsets " + off.dump() + " is not a pair of offsets");
  t.begin = off[0].get<uint64_t>();
  t.end = off[1].get<uint64_t>();
  if (t.begin > t.end)
    throw Error(bad + "data_offsets " + off.dump() + " are out of order: the end comes before the begin");
  if (t.end > dataSize)
    throw Error(bad + "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                "] out of range: the data section has " + std::to_string(dataSize) + " bytes (truncated file?)");
  if (t.end - t.begin != bytes)
    throw Error(bad + "data_offsets span " + std::to_string(t.end - t.begin) + " bytes, shape " + shapeText(t.shape) +
                " of " + t.dtype + " needs " + std::to_string(bytes));
  return t;
}

// Every tensor entry of the header, checked, and together they must tile the data section: no two
// overlap, no bytes lie between or after them (as the safetensors reference implementation demands).
std::map<std::string, Entry> parseEntries(const Header& h, const std::string& where) {
  std::map<std::string, Entry> entries;
  for (const auto& [name, e] : h.entries.items())
    if (name != "__metadata__") entries.emplace(name, parseEntry(name, e, h.dataSize, where));
  std::vector<const Entry*> order;
  for (const auto& [name, e] : entries) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t at = 0;
  const Entry* previous = nullptr;
  for (const Entry* e : order) {
    if (e->begin < at)
      throw Error(where + ": tensors '" + previous->name + "' and '" + e->name + "' overlap in the data section");
    if (e->begin > at)
      throw Error(where + ": " + std::to_string(e->begin - at) + " bytes of the data section before tensor '" +
                  e->name + "' belong to no tensor");
    at = e->end;
    previous = e;
  }
  if (at != h.dataSize)
    throw Error(where + ": " + std::to_string(h.dataSize - at) +
                " bytes at the end of the data section belong to no tensor");
  return entries;
}

// The CRC-32 that the metadata records for each tensor, checked for form and for naming a tensor.
std::map<std::string, uint32_t> recordedChecksums(const Header& h, const std::map<std::string, Entry>& entries,
                                                  const std::string& where) {
  std::map<std::string, uint32_t> out;
  for (const auto& [key, value] : h.metadata) {
    if (!key.starts_with(kChecksumKey)) continue;
    const std::string name = key.substr(std::strlen(kChecksumKey));
    if (!entries.count(name)) throw Error(where + ": metadata '" + key + "' names no tensor of the file");
    uint32_t crc = 0;
    const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), crc, 16);
    if (value.size() != 8 || ec != std::errc() || p != value.data() + value.size())
      throw Error(where + ": metadata '" + key + "' is not a CRC-32 (8 hex digits): '" + value + "'");
    out[name] = crc;
  }
  return out;
}

// A tensor the caller wants, and where its bytes go.
struct Slice {
  const Entry* entry;
  int32_t dtype;
  void* dest;
};

// The entry of tensor `name`, checked against what the model expects of it.
const Entry& expectTensor(const std::map<std::string, Entry>& entries, const std::string& name,
                          const std::vector<int64_t>& modelShape, int32_t dtype, const char* what,
                          const std::string& model, const std::string& where) {
  const auto it = entries.find(name);
  if (it == entries.end()) throw Error(where + ": " + what + " '" + name + "' of " + model + " is missing");
  const Entry& e = it->second;
  const std::string bad = where + ": tensor '" + name + "': ";
  if (e.dtype != dtypeName(dtype))
    throw Error(bad + "dtype \"" + e.dtype + "\" in the file, " + model + " needs " + dtypeName(dtype));
  if (e.shape != modelShape)
    throw Error(bad + "shape " + shapeText(e.shape) + " in the file but " + shapeText(modelShape) + " in " + model);
  return e;
}

// Every tensor the model (and the extras) asks for, checked; no tensor the model lacks but state ('/'). The
// params are matched by name, shape and dtype, nothing else of the model: weights trained with a loss load
// into the model's label-free twin. The first difference in ABI order is named, with the model that wrote
// the file (its metadata "sinter_model").
std::vector<Slice> matchModel(const std::map<std::string, Entry>& entries, const sinter_model_desc& model,
                              void* const* params, const CheckpointExtras* extras,
                              const std::map<std::string, std::string>& metadata, const std::string& path) {
  const auto writer = metadata.find("sinter_model");
  const std::string where =
      "checkpoint " + path + (writer != metadata.end() ? " (written by model '" + writer->second + "')" : "");
  const std::string name = "model '" + std::string(model.name ? model.name : "") + "'";
  std::vector<Slice> slices;
  std::set<std::string> known;
  for (int32_t i = 0; i < model.num_params; ++i) {
    const sinter_tensor_desc& t = model.params[i];
    checkedParamCount(where, t);
    known.insert(paramName(t));
    slices.push_back(
        {&expectTensor(entries, paramName(t), modelShape(t), t.dtype, "param", name, where), t.dtype, params[i]});
  }
  if (extras)
    for (const ExtraTensor& t : extras->tensors) {
      known.insert(t.name);
      slices.push_back(
          {&expectTensor(entries, t.name, t.shape, t.dtype, "optimizer state", name, where), t.dtype, t.data});
    }
  for (const auto& [tensor, e] : entries)
    if (!known.count(tensor) && tensor.find('/') == std::string::npos)
      throw Error(where + ": holds tensor '" + tensor + "' that " + name +
                  " does not have (a checkpoint of another model?)");
  return slices;
}

// Reads each slice into its destination, then checks its CRC (when recorded) and that every value is
// finite: a flipped byte or a diverged run must not become the weights of the next one.
void readSlices(int fd, const Header& h, const std::vector<Slice>& slices,
                const std::map<std::string, uint32_t>& checksums, const std::string& where) {
  for (const Slice& sl : slices) {
    const Entry& e = *sl.entry;
    const uint64_t bytes = e.end - e.begin;
    char* dest = static_cast<char*>(sl.dest);
    for (uint64_t done = 0; done < bytes;) {
      const ssize_t n = ::pread(fd, dest + done, bytes - done, static_cast<off_t>(h.dataStart + e.begin + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw IoError(where + ": cannot read the data at offset " + std::to_string(e.begin + done));
      done += static_cast<uint64_t>(n);
    }
    if (const auto crc = checksums.find(e.name); crc != checksums.end() && crc->second != checksum(dest, bytes))
      throw Error(where + ": tensor '" + e.name + "' does not match its CRC-32 " + hex32(crc->second) +
                  " (the file is corrupt)");
    const int64_t count = static_cast<int64_t>(bytes / elementBytes(sl.dtype));
    for (int64_t k = 0; k < count; ++k)
      if (const double v = floatAt(dest, sl.dtype, k); !std::isfinite(v))
        throw Error(where + ": tensor '" + e.name + "' holds " + (std::isnan(v) ? "NaN" : "an infinity") +
                    " (element " + std::to_string(k) + "); refusing non-finite weights");
  }
}

}  // namespace

namespace {

// A checkpoint file opened for reading, closed on scope exit.
struct OpenFile {
  int fd;
  OpenFile(const std::string& path, const std::string& where) : fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd < 0) throw IoError(where + ": cannot open: " + errnoText());
  }
  OpenFile(const OpenFile&) = delete;
  OpenFile& operator=(const OpenFile&) = delete;
  ~OpenFile() { ::close(fd); }
};

}  // namespace

std::map<std::string, std::string> checkpointMetadata(const std::string& path) {
  const std::string where = "checkpoint " + path;
  const OpenFile file(path, where);
  return readHeader(file.fd, where).metadata;
}

std::map<std::string, std::string> loadCheckpoint(const std::string& path, const sinter_model_desc& model,
                                                  void* const* params, const CheckpointExtras* extras) {
  const std::string where = "checkpoint " + path;
  const OpenFile file(path, where);
  const int fd = file.fd;
  // Check every tensor before writing any, so that a bad header leaves the params untouched.
  const Header h = readHeader(fd, where);
  const std::map<std::string, Entry> entries = parseEntries(h, where);
  const std::map<std::string, uint32_t> checksums = recordedChecksums(h, entries, where);
  const std::vector<Slice> slices = matchModel(entries, model, params, extras, h.metadata, path);
  readSlices(fd, h, slices, checksums, where);
  return h.metadata;
}

}  // namespace sinter::rt
