// IDX reading: gzip and plain round trips, and an error that names the file and the problem for every
// kind of bad input.
#include "runtime/idx_reader.h"

#include "runtime/error.h"
#include "test_util.h"

#include <catch2/catch.hpp>

using sinter::rt::readIdx;
using namespace sinter::test;

namespace {

// Returns the message readIdx throws for path; fails the test when it does not throw.
std::string errorOf(const std::string& path) {
  try {
    readIdx(path);
  } catch (const sinter::rt::Error& e) {
    return e.what();
  }
  FAIL("readIdx(" << path << ") did not fail");
  return "";
}

}  // namespace

TEST_CASE("IDX: gzip round trip of images and labels") {
  TempDir dir("idx");
  const std::vector<uint8_t> pixels = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255};
  writeGz(dir.file("images.gz"), idxBytes(0x08, {3, 2, 2}, pixels));
  writeGz(dir.file("labels.gz"), idxBytes(0x08, {3}, {7, 0, 9}));

  const auto images = readIdx(dir.file("images.gz"));
  CHECK(images.dims == std::vector<int64_t>{3, 2, 2});
  CHECK(images.data == pixels);
  const auto labels = readIdx(dir.file("labels.gz"));
  CHECK(labels.dims == std::vector<int64_t>{3});
  CHECK(labels.data == std::vector<uint8_t>{7, 0, 9});
}

TEST_CASE("IDX: uncompressed files are read too") {
  TempDir dir("idx");
  writeBytes(dir.file("labels"), idxBytes(0x08, {4}, {1, 2, 3, 4}));
  const auto labels = readIdx(dir.file("labels"));
  CHECK(labels.dims == std::vector<int64_t>{4});
  CHECK(labels.data == std::vector<uint8_t>{1, 2, 3, 4});
}

TEST_CASE("IDX: big-endian dims above 255") {
  TempDir dir("idx");
  std::vector<uint8_t> data(300 * 2);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  writeGz(dir.file("x.gz"), idxBytes(0x08, {300, 2}, data));
  const auto x = readIdx(dir.file("x.gz"));
  CHECK(x.dims == std::vector<int64_t>{300, 2});
  CHECK(x.data == data);
}

TEST_CASE("IDX: a missing file is reported with its path") {
  TempDir dir("idx");
  const std::string msg = errorOf(dir.file("nope.gz"));
  CHECK_THAT(msg, Catch::Contains(dir.file("nope.gz")) && Catch::Contains("not found"));
}

TEST_CASE("IDX: truncated data says how many bytes were expected and found") {
  TempDir dir("idx");
  writeGz(dir.file("short.gz"), idxBytes(0x08, {2, 2, 2}, {1, 2, 3, 4, 5}));
  const std::string msg = errorOf(dir.file("short.gz"));
  CHECK_THAT(msg, Catch::Contains(dir.file("short.gz")) && Catch::Contains("expected 8 bytes of data") &&
                      Catch::Contains("file has 5"));
}

TEST_CASE("IDX: a truncated header is an error") {
  TempDir dir("idx");
  writeGz(dir.file("h.gz"), {0, 0, 8, 3, 0, 0});  // three dims announced, half of one present
  CHECK_THAT(errorOf(dir.file("h.gz")), Catch::Contains("truncated"));
  writeGz(dir.file("empty.gz"), {});
  CHECK_THAT(errorOf(dir.file("empty.gz")), Catch::Contains("too short"));
}

TEST_CASE("IDX: a bad magic number is reported") {
  TempDir dir("idx");
  writeGz(dir.file("bad.gz"), {0x12, 0x34, 0x08, 0x01, 0, 0, 0, 1, 9});
  CHECK_THAT(errorOf(dir.file("bad.gz")), Catch::Contains("bad magic") && Catch::Contains("0x12340801"));
  writeBytes(dir.file("text.txt"), {'h', 'e', 'l', 'l', 'o', '\n'});
  CHECK_THAT(errorOf(dir.file("text.txt")), Catch::Contains("bad magic"));
}

TEST_CASE("IDX: element types other than u8 are unsupported") {
  TempDir dir("idx");
  writeGz(dir.file("f32.gz"), idxBytes(0x0D, {1}, {0, 0, 0, 0}));
  CHECK_THAT(errorOf(dir.file("f32.gz")), Catch::Contains("unsupported") && Catch::Contains("f32"));
}

TEST_CASE("IDX: huge dims are rejected before allocating") {
  TempDir dir("idx");
  writeGz(dir.file("huge.gz"), idxBytes(0x08, {60000, 60000, 60000}, {1, 2, 3}));
  CHECK_THAT(errorOf(dir.file("huge.gz")), Catch::Contains("too large"));
  // A zero dim must not hide overflowing neighbours.
  writeGz(dir.file("zero.gz"), idxBytes(0x08, {0, 0xffffffffu, 0xffffffffu}, {}));
  CHECK_THAT(errorOf(dir.file("zero.gz")), Catch::Contains("too large"));
}

TEST_CASE("IDX: bytes after the data are an error") {
  TempDir dir("idx");
  writeGz(dir.file("long.gz"), idxBytes(0x08, {2}, {1, 2, 3}));
  CHECK_THAT(errorOf(dir.file("long.gz")), Catch::Contains("after"));
}

TEST_CASE("IDX: a corrupt or cut gzip stream is an error, not a crash") {
  TempDir dir("idx");
  std::vector<uint8_t> data(4096);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  writeGz(dir.file("ok.gz"), idxBytes(0x08, {4096}, data));
  std::vector<uint8_t> gz = readBytes(dir.file("ok.gz"));
  REQUIRE(gz.size() > 100);

  std::vector<uint8_t> cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  writeBytes(dir.file("cut.gz"), cut);
  CHECK_THAT(errorOf(dir.file("cut.gz")), Catch::Contains(dir.file("cut.gz")));

  std::vector<uint8_t> flipped = gz;
  for (size_t i = 20; i < 60; ++i) flipped[i] ^= 0x5a;
  writeBytes(dir.file("flipped.gz"), flipped);
  CHECK_THAT(errorOf(dir.file("flipped.gz")), Catch::Contains(dir.file("flipped.gz")));
}

TEST_CASE("IDX: a directory is an error") {
  TempDir dir("idx");
  CHECK_THAT(errorOf(dir.file("")), Catch::Contains("error") || Catch::Contains("directory"));
}
