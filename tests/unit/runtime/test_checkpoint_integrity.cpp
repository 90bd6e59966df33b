// Checkpoints that must not be trusted or written: headers whose entries overlap, leave gaps or lie
// about their metadata, flipped bytes (the CRC-32 of every tensor), non-finite weights, and targets that
// a rename would destroy (device nodes, directories), while a symbolic link is written through.
#include "runtime/checkpoint.h"

#include "runtime/error.h"
#include "test_util.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>

using namespace sinter::rt;
using namespace sinter::test;
using json = nlohmann::json;

namespace {

const int64_t kWDims[] = {2, 3};
const int64_t kBDims[] = {3};
const sinter_tensor_desc kParams[] = {{"w", SINTER_F32, 2, kWDims, SINTER_INIT_ZEROS, 0, 0},
                                      {"b", SINTER_F32, 1, kBDims, SINTER_INIT_ZEROS, 0, 0}};

sinter_model_desc model() {
  sinter_model_desc m{};
  m.abi_version = SINTER_ABI_VERSION;
  m.name = "tiny";
  m.num_params = 2;
  m.params = kParams;
  return m;
}

struct Weights {
  std::vector<float> w = {1.5f, -2.0f, 3.25f, 0.0f, -0.125f, 1e-3f};
  std::vector<float> b = {7.0f, 8.0f, -9.0f};
  void* ptrs[2] = {w.data(), b.data()};
};

using File = SafetensorsFile;

// The error of loading `path` into fresh buffers, or "" when it loads.
std::string loadError(const std::string& path) {
  Weights dst;
  try {
    loadCheckpoint(path, model(), dst.ptrs);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Saves good weights, applies `edit` to the file and returns the error of loading it.
std::string errorAfter(const std::function<void(File&)>& edit) {
  TempDir dir("ckint");
  const std::string path = dir.file("m.safetensors");
  Weights wts;
  saveCheckpoint(path, model(), wts.ptrs);
  File f(path);
  edit(f);
  f.write(path);
  return loadError(path);
}

}  // namespace

TEST_CASE("checkpoint integrity: an unedited file loads (the edits below are what fails)") {
  CHECK(errorAfter([](File&) {}) == "");
}

TEST_CASE("checkpoint integrity: data_offsets must tile the data section") {
  // The saved layout: w at [0, 24), b at [24, 36).
  SECTION("overlapping tensors") {
    const std::string e = errorAfter([](File& f) {
      f.header["b"]["data_offsets"] = {20, 32};
      f.data.resize(32);
    });
    CHECK_THAT(e, Catch::Contains("tensors 'w' and 'b' overlap"));
  }
  SECTION("both tensors on the same bytes") {
    const std::string e = errorAfter([](File& f) {
      f.header["w"]["shape"] = {3};
      f.header["w"]["data_offsets"] = {0, 12};
      f.header["b"]["data_offsets"] = {0, 12};
      f.data.resize(12);
    });
    CHECK_THAT(e, Catch::Contains("overlap"));
  }
  SECTION("reversed offsets") {
    CHECK_THAT(errorAfter([](File& f) { f.header["b"]["data_offsets"] = {36, 24}; }),
               Catch::Contains("out of order"));
  }
  SECTION("a gap between tensors") {
    const std::string e = errorAfter([](File& f) {
      f.header["b"]["data_offsets"] = {28, 40};
      f.data.resize(40);
    });
    CHECK_THAT(e, Catch::Contains("4 bytes of the data section before tensor 'b' belong to no tensor"));
  }
  SECTION("bytes after the last tensor") {
    CHECK_THAT(errorAfter([](File& f) { f.data.resize(44); }),
               Catch::Contains("8 bytes at the end of the data section belong to no tensor"));
  }
  SECTION("tensors stored in another order than the header's are fine (safetensors allows it)") {
    const std::string e = errorAfter([](File& f) {
      std::vector<uint8_t> swapped(f.data.begin() + 24, f.data.end());
      swapped.insert(swapped.end(), f.data.begin(), f.data.begin() + 24);
      f.data = swapped;
      f.header["b"]["data_offsets"] = {0, 12};
      f.header["w"]["data_offsets"] = {12, 36};
    });
    CHECK(e == "");
  }
}

TEST_CASE("checkpoint integrity: every header field is checked") {
  CHECK_THAT(errorAfter([](File& f) { f.header["__metadata__"]["sinter_epoch"] = 3; }),
             Catch::Contains("metadata 'sinter_epoch' is not a string"));
  CHECK_THAT(errorAfter([](File& f) { f.header["__metadata__"] = json::array(); }),
             Catch::Contains("__metadata__ is not an object"));
  CHECK_THAT(errorAfter([](File& f) { f.header["w"]["extra"] = 1; }), Catch::Contains("unknown field 'extra'"));
  CHECK_THAT(errorAfter([](File& f) { f.header["w"]["shape"] = {2, -3}; }), Catch::Contains("invalid dimension"));
  CHECK_THAT(errorAfter([](File& f) { f.header["w"]["dtype"] = "F17"; }), Catch::Contains("unknown dtype"));
  // Tensors the model ignores (optimizer state) are checked as strictly.
  CHECK_THAT(errorAfter([](File& f) { f.header["optimizer/x/w"] = {{"dtype", "F32"}, {"shape", {1}}}; }),
             Catch::Contains("'optimizer/x/w'") && Catch::Contains("needs dtype, shape and data_offsets"));
  CHECK_THAT(errorAfter([](File& f) { f.header["__metadata__"]["sinter_crc32:w"] = "xyz"; }),
             Catch::Contains("not a CRC-32"));
  CHECK_THAT(errorAfter([](File& f) { f.header["__metadata__"]["sinter_crc32:q"] = "00000000"; }),
             Catch::Contains("names no tensor"));
}

TEST_CASE("checkpoint integrity: a flipped byte fails its tensor's CRC-32") {
  TempDir dir("ckint");
  const std::string path = dir.file("m.safetensors");
  Weights wts;
  saveCheckpoint(path, model(), wts.ptrs);
  File f(path);
  CHECK(f.header["__metadata__"]["sinter_crc32:w"].get<std::string>().size() == 8);
  f.data[25] ^= 0x01;  // the low mantissa bit of b[0]: still a finite float, just another one
  f.write(path);
  CHECK_THAT(loadError(path), Catch::Contains("tensor 'b' does not match its CRC-32") && Catch::Contains(path));

  // A file written by another tool records no CRC: it loads.
  File g(path);
  g.header["__metadata__"].erase("sinter_crc32:b");
  g.write(path);
  CHECK(loadError(path) == "");
}

TEST_CASE("checkpoint integrity: non-finite weights are refused, naming the tensor") {
  TempDir dir("ckint");
  const std::string path = dir.file("m.safetensors");
  Weights wts;
  wts.b[1] = std::nanf("");
  saveCheckpoint(path, model(), wts.ptrs);  // saving is allowed: the file says what the weights are
  CHECK_THAT(loadError(path), Catch::Contains("tensor 'b' holds NaN (element 1)"));
  wts.b[1] = 1.0f;
  wts.w[4] = -INFINITY;
  saveCheckpoint(path, model(), wts.ptrs);
  CHECK_THAT(loadError(path), Catch::Contains("tensor 'w' holds an infinity (element 4)"));
}

TEST_CASE("checkpoint integrity: a directory is named as such") {
  TempDir dir("ckint");
  std::filesystem::create_directories(dir.file("d.safetensors"));
  CHECK_THAT(loadError(dir.file("d.safetensors")), Catch::Contains("d.safetensors: is a directory"));
  Weights wts;
  CHECK_THROWS_WITH(saveCheckpoint(dir.file("d.safetensors"), model(), wts.ptrs),
                    Catch::Contains("is a directory, not a regular file"));
  CHECK(std::filesystem::is_directory(dir.file("d.safetensors")));
}

TEST_CASE("checkpoint integrity: saving never replaces a device node, a symlink is written through") {
  TempDir dir("ckint");
  Weights wts;
  // Our own null device (major 1, minor 3, as /dev/null) in the scratch directory.
  const std::string node = dir.file("mynull");
  if (::mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    WARN("mknod failed (not root?): skipping the device case");
  } else {
    CHECK_THROWS_WITH(saveCheckpoint(node, model(), wts.ptrs),
                      Catch::Contains(node) && Catch::Contains("is a character device, not a regular file"));
    struct stat st {};
    REQUIRE(::lstat(node.c_str(), &st) == 0);
    CHECK(S_ISCHR(st.st_mode));
    CHECK_FALSE(std::filesystem::exists(node + ".tmp"));
    // A link to the device is refused too, naming both.
    std::filesystem::create_symlink(node, dir.file("to_null"));
    CHECK_THROWS_WITH(saveCheckpoint(dir.file("to_null"), model(), wts.ptrs),
                      Catch::Contains("the target of link") && Catch::Contains("character device"));
  }
  // A FIFO would be replaced just the same.
  REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0644) == 0);
  CHECK_THROWS_WITH(saveCheckpoint(dir.file("fifo"), model(), wts.ptrs), Catch::Contains("is a FIFO"));

  // A link (relative, through a second link) to a regular file: the link stays, the file gets the weights.
  std::filesystem::create_directories(dir.file("real"));
  saveCheckpoint(dir.file("real/w.safetensors"), model(), wts.ptrs);
  std::filesystem::create_symlink("real/w.safetensors", dir.file("link1"));
  std::filesystem::create_symlink("link1", dir.file("link2"));
  wts.w[0] = 99.0f;
  saveCheckpoint(dir.file("link2"), model(), wts.ptrs);
  CHECK(std::filesystem::is_symlink(dir.file("link1")));
  CHECK(std::filesystem::is_symlink(dir.file("link2")));
  Weights back;
  loadCheckpoint(dir.file("real/w.safetensors"), model(), back.ptrs);
  CHECK(back.w[0] == 99.0f);
  CHECK_FALSE(std::filesystem::exists(dir.file("real/w.safetensors.tmp")));
}
