// Helpers shared by the runtime tests: scratch directories, IDX files, captured output.
#pragma once

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <fcntl.h>

#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace sinter::test {

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("sinter_rt_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void writeBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

inline std::vector<uint8_t> readBytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// gzip-compresses bytes into path with zlib, as the MNIST distribution files are.
inline void writeGz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot create " + path);
  const int n = bytes.empty() ? 0 : gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
  if (n != static_cast<int>(bytes.size())) throw std::runtime_error("cannot write " + path);
}

// The bytes of an IDX file: magic 0x0000TTNN, big-endian u32 dims, then `data`.
inline std::vector<uint8_t> idxBytes(uint8_t type, const std::vector<uint32_t>& dims,
                                     const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims)
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// A safetensors file split into its JSON header and its data section, to be edited and written back
// (the header re-padded to a multiple of 8 bytes).
struct SafetensorsFile {
  nlohmann::json header;
  std::vector<uint8_t> data;

  explicit SafetensorsFile(const std::string& path) {
    const std::vector<uint8_t> bytes = readBytes(path);
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | bytes.at(static_cast<size_t>(i));
    header = nlohmann::json::parse(std::string(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n)));
    data.assign(bytes.begin() + 8 + static_cast<long>(n), bytes.end());
  }
  void write(const std::string& path) const {
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');
    std::vector<uint8_t> out;
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(text.size() >> (8 * i)));
    out.insert(out.end(), text.begin(), text.end());
    out.insert(out.end(), data.begin(), data.end());
    writeBytes(path, out);
  }
};

// Redirects stdout and stderr (file descriptors 1 and 2) into files while alive; out()/err() read them
// after stop().
class Capture {
 public:
  explicit Capture(const std::string& dir) : outPath_(dir + "/stdout.txt"), errPath_(dir + "/stderr.txt") {
    std::fflush(stdout);
    std::fflush(stderr);
    savedOut_ = ::dup(1);
    savedErr_ = ::dup(2);
    redirect(outPath_, 1);
    redirect(errPath_, 2);
  }
  ~Capture() { stop(); }
  void stop() {
    if (savedOut_ < 0) return;
    std::fflush(stdout);
    std::fflush(stderr);
    ::dup2(savedOut_, 1);
    ::dup2(savedErr_, 2);
    ::close(savedOut_);
    ::close(savedErr_);
    savedOut_ = savedErr_ = -1;
  }
  std::string out() const { return text(outPath_); }
  std::string err() const { return text(errPath_); }

 private:
  static void redirect(const std::string& path, int fd) {
    const int f = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f < 0) throw std::runtime_error("cannot create " + path);
    ::dup2(f, fd);
    ::close(f);
  }
  static std::string text(const std::string& path) {
    const std::vector<uint8_t> b = readBytes(path);
    return std::string(b.begin(), b.end());
  }
  std::string outPath_, errPath_;
  int savedOut_ = -1, savedErr_ = -1;
};

}  // namespace sinter::test
