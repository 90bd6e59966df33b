// Safetensors checkpoints: the bytes on disk (checked with an independent JSON parse), round trips,
// and errors that name the tensor and the problem.
#include "runtime/checkpoint.h"

#include "runtime/error.h"
#include "runtime/saved_normalizer.h"
#include "test_util.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>

using namespace sinter::rt;
using namespace sinter::test;

namespace {

const int64_t kWDims[] = {2, 3};
const int64_t kBDims[] = {3};
const int64_t kWDimsT[] = {3, 2};
const int64_t kCDims[] = {1};

const sinter_tensor_desc kParams[] = {{"w", SINTER_F32, 2, kWDims, SINTER_INIT_ZEROS, 0, 0},
                                      {"b", SINTER_F32, 1, kBDims, SINTER_INIT_ZEROS, 0, 0}};
// Same names, w transposed.
const sinter_tensor_desc kParamsT[] = {{"w", SINTER_F32, 2, kWDimsT, SINTER_INIT_ZEROS, 0, 0},
                                       {"b", SINTER_F32, 1, kBDims, SINTER_INIT_ZEROS, 0, 0}};
// One param more than kParams.
const sinter_tensor_desc kParamsPlus[] = {{"w", SINTER_F32, 2, kWDims, SINTER_INIT_ZEROS, 0, 0},
                                          {"b", SINTER_F32, 1, kBDims, SINTER_INIT_ZEROS, 0, 0},
                                          {"c", SINTER_F32, 1, kCDims, SINTER_INIT_ZEROS, 0, 0}};

sinter_model_desc model(const sinter_tensor_desc* params, int32_t n) {
  sinter_model_desc m{};
  m.abi_version = SINTER_ABI_VERSION;
  m.name = "tiny";
  m.num_params = n;
  m.params = params;
  return m;
}

struct Weights {
  std::vector<float> w = {1.5f, -2.0f, 3.25f, 0.0f, -0.125f, 1e-3f};
  std::vector<float> b = {7.0f, 8.0f, -9.0f};
  void* ptrs[2] = {w.data(), b.data()};
};

std::string loadError(const std::string& path, const sinter_model_desc& m) {
  std::vector<std::vector<float>> bufs;
  std::vector<void*> ptrs;
  for (int32_t i = 0; i < m.num_params; ++i) bufs.emplace_back(16, 0.0f);
  for (auto& b : bufs) ptrs.push_back(b.data());
  try {
    loadCheckpoint(path, m, ptrs.data());
  } catch (const Error& e) {
    return e.what();
  }
  FAIL("loading " << path << " did not fail");
  return "";
}

uint64_t headerLength(const std::vector<uint8_t>& bytes) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];  // little-endian, decoded by hand
  return n;
}

}  // namespace

TEST_CASE("checkpoint: the file is valid safetensors") {
  TempDir dir("ckpt");
  const std::string path = dir.file("m.safetensors");
  Weights wts;
  saveCheckpoint(path, model(kParams, 2), wts.ptrs);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  const std::vector<uint8_t> bytes = readBytes(path);
  REQUIRE(bytes.size() >= 8);
  const uint64_t n = headerLength(bytes);
  CHECK(n % 8 == 0);
  REQUIRE(bytes.size() == 8 + n + (6 + 3) * 4);
  const auto header = nlohmann::json::parse(std::string(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n)));
  CHECK(header["__metadata__"]["format"] == "pt");
  CHECK(header["__metadata__"]["sinter_model"] == "tiny");
  CHECK(header["w"]["dtype"] == "F32");
  CHECK(header["w"]["shape"] == nlohmann::json::array({2, 3}));
  CHECK(header["b"]["shape"] == nlohmann::json::array({3}));
  CHECK(header.size() == 3);

  // The data of each tensor sits at its offsets, in little-endian f32.
  for (const auto& [name, values] : {std::pair{"w", &wts.w}, std::pair{"b", &wts.b}}) {
    INFO(name);
    const uint64_t begin = header[name]["data_offsets"][0], end = header[name]["data_offsets"][1];
    REQUIRE(end - begin == values->size() * 4);
    std::vector<float> got(values->size());
    std::memcpy(got.data(), bytes.data() + 8 + n + begin, end - begin);
    CHECK(got == *values);
  }
}

TEST_CASE("checkpoint: round trip, and saving again replaces the file") {
  TempDir dir("ckpt");
  const std::string path = dir.file("m.safetensors");
  Weights wts;
  const sinter_model_desc m = model(kParams, 2);
  saveCheckpoint(path, m, wts.ptrs);
  wts.w[0] = 42.0f;
  saveCheckpoint(path, m, wts.ptrs);

  std::vector<float> w(6, 0.0f), b(3, 0.0f);
  void* ptrs[] = {w.data(), b.data()};
  loadCheckpoint(path, m, ptrs);
  CHECK(w == wts.w);
  CHECK(b == wts.b);
}

TEST_CASE("checkpoint: a shape mismatch names the param and both shapes") {
  TempDir dir("ckpt");
  const std::string path = dir.file("m.safetensors");
  Weights wts;
  saveCheckpoint(path, model(kParams, 2), wts.ptrs);
  CHECK_THAT(loadError(path, model(kParamsT, 2)),
             Catch::Contains("'w'") && Catch::Contains("[2, 3]") && Catch::Contains("[3, 2]"));
}

TEST_CASE("checkpoint: a missing param is named, and so is an extra tensor") {
  TempDir dir("ckpt");
  const std::string path = dir.file("m.safetensors");
  Weights wts;
  saveCheckpoint(path, model(kParams, 2), wts.ptrs);
  CHECK_THAT(loadError(path, model(kParamsPlus, 3)), Catch::Contains("'c'") && Catch::Contains("missing"));
  CHECK_THAT(loadError(path, model(kParams, 1)), Catch::Contains("'b'"));
}

TEST_CASE("checkpoint: a failed load leaves the params untouched") {
  TempDir dir("ckpt");
  const std::string path = dir.file("m.safetensors");
  Weights wts;
  saveCheckpoint(path, model(kParams, 2), wts.ptrs);
  std::vector<float> w(6, 5.0f), b(3, 5.0f), c(1, 5.0f);
  void* ptrs[] = {w.data(), b.data(), c.data()};
  CHECK_THROWS_AS(loadCheckpoint(path, model(kParamsPlus, 3), ptrs), Error);
  CHECK(w == std::vector<float>(6, 5.0f));
}

TEST_CASE("checkpoint: truncated and corrupt files are errors") {
  TempDir dir("ckpt");
  const std::string path = dir.file("m.safetensors");
  Weights wts;
  const sinter_model_desc m = model(kParams, 2);
  saveCheckpoint(path, m, wts.ptrs);
  const std::vector<uint8_t> good = readBytes(path);
  const uint64_t n = headerLength(good);

  SECTION("data cut short") {
    writeBytes(path, std::vector<uint8_t>(good.begin(), good.end() - 10));
    CHECK_THAT(loadError(path, m), Catch::Contains("out of range") && Catch::Contains(path));
  }
  SECTION("header cut short") {
    writeBytes(path, std::vector<uint8_t>(good.begin(), good.begin() + 8 + static_cast<long>(n) / 2));
    CHECK_THAT(loadError(path, m), Catch::Contains("header length"));
  }
  SECTION("fewer than 8 bytes") {
    writeBytes(path, {1, 2, 3});
    CHECK_THAT(loadError(path, m), Catch::Contains("too short"));
  }
  SECTION("absurd header length") {
    std::vector<uint8_t> bad = good;
    bad[7] = 0x7f;
    writeBytes(path, bad);
    CHECK_THAT(loadError(path, m), Catch::Contains("header length"));
  }
  SECTION("garbage JSON") {
    std::vector<uint8_t> bad = good;
    bad[8] = '[';
    bad[9] = '}';
    writeBytes(path, bad);
    CHECK_THAT(loadError(path, m), Catch::Contains("invalid JSON"));
  }
  SECTION("wrong dtype") {
    std::string text(good.begin() + 8, good.begin() + 8 + static_cast<long>(n));
    const size_t at = text.find("\"F32\"");
    REQUIRE(at != std::string::npos);
    text.replace(at, 5, "\"F16\"");
    std::vector<uint8_t> bad(good.begin(), good.begin() + 8);
    bad.insert(bad.end(), text.begin(), text.end());
    bad.insert(bad.end(), good.begin() + 8 + static_cast<long>(n), good.end());
    writeBytes(path, bad);
    CHECK_THAT(loadError(path, m), Catch::Contains("F16"));
  }
  SECTION("missing file") {
    CHECK_THAT(loadError(dir.file("absent.safetensors"), m), Catch::Contains("absent.safetensors"));
  }
}

TEST_CASE("checkpoint: saving into a missing directory fails cleanly") {
  TempDir dir("ckpt");
  Weights wts;
  CHECK_THROWS_WITH(saveCheckpoint(dir.file("no/such/dir/m.safetensors"), model(kParams, 2), wts.ptrs),
                    Catch::Contains("m.safetensors"));
}

TEST_CASE("checkpoint: optimizer state and metadata round trip, weights-only loads ignore the state") {
  TempDir dir("ckpt");
  const std::string path = dir.file("train.safetensors");
  const sinter_model_desc m = model(kParams, 2);
  Weights src;
  std::vector<float> state = {0.5f, 0.25f, 0.125f};
  CheckpointExtras x;
  x.metadata = {{"sinter_epoch", "3"}, {"sinter_step", "41"}};
  x.tensors.push_back({"optimizer/exp_avg/b", {3}, state.data()});
  saveCheckpoint(path, m, src.ptrs, &x);

  // The file stays plain safetensors: the state is one more F32 tensor, the metadata strings.
  const std::vector<uint8_t> bytes = readBytes(path);
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const auto header = nlohmann::json::parse(std::string(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n)));
  CHECK(header["optimizer/exp_avg/b"]["shape"] == nlohmann::json::array({3}));
  CHECK(header["__metadata__"]["sinter_epoch"] == "3");
  CHECK(header["__metadata__"]["sinter_model"] == "tiny");

  Weights dst;
  std::fill(dst.w.begin(), dst.w.end(), 0.0f);
  std::vector<float> back(3, 0.0f);
  CheckpointExtras want;
  want.tensors.push_back({"optimizer/exp_avg/b", {3}, back.data()});
  const auto meta = loadCheckpoint(path, m, dst.ptrs, &want);
  CHECK(dst.w == src.w);
  CHECK(back == state);
  CHECK(meta.at("sinter_step") == "41");
  CHECK(meta.at("sinter_model") == "tiny");

  // As plain weights (--load): the optimizer tensors are skipped.
  Weights plain;
  CHECK_NOTHROW(loadCheckpoint(path, m, plain.ptrs));
  // Asking for state the file lacks names it.
  CheckpointExtras more = want;
  more.tensors.push_back({"optimizer/exp_avg_sq/b", {3}, back.data()});
  CHECK_THROWS_WITH(loadCheckpoint(path, m, plain.ptrs, &more),
                    Catch::Contains("optimizer state 'optimizer/exp_avg_sq/b'") && Catch::Contains("missing"));
}

TEST_CASE("checkpoint: the params decide: another model with the same params loads, one param off is named") {
  TempDir dir("ckpt");
  const std::string path = dir.file("a.safetensors");
  sinter_model_desc a = model(kParams, 2);
  Weights w;
  saveCheckpoint(path, a, w.ptrs);
  // The label-free twin: other inputs (no label), other outputs, no loss, another name; the same params.
  const int64_t dims[] = {-1, 5};
  const sinter_tensor_desc inputs[] = {{"x", SINTER_F32, 2, dims, 0, 0, 0}};
  sinter_model_desc twin = a;
  twin.name = "twin";
  twin.num_inputs = 1;
  twin.inputs = inputs;
  twin.loss_output = -1;
  Weights got;
  std::fill(got.w.begin(), got.w.end(), 0.0f);
  std::fill(got.b.begin(), got.b.end(), 0.0f);
  CHECK_NOTHROW(loadCheckpoint(path, twin, got.ptrs));
  CHECK(got.w == w.w);
  CHECK(got.b == w.b);
  // A param of another dtype: the first difference is named, with the model that wrote the file.
  const sinter_tensor_desc f64[] = {kParams[0], {"b", SINTER_F64, 1, kBDims, SINTER_INIT_ZEROS, 0, 0}};
  sinter_model_desc wide = model(f64, 2);
  wide.name = "wide";
  CHECK_THAT(loadError(path, wide), Catch::Contains("(written by model 'tiny')") && Catch::Contains("tensor 'b'") &&
                                        Catch::Contains("model 'wide' needs F64"));
  CHECK_THAT(loadError(path, model(kParamsT, 2)),
             Catch::Contains("(written by model 'tiny'): tensor 'w': shape [2, 3] in the file but [3, 2] in model"));
}

TEST_CASE("checkpoint: --normalize standard statistics round trip with the weights, plain loads ignore them") {
  TempDir dir("ckpt");
  const std::string path = dir.file("norm.safetensors"), plainPath = dir.file("plain.safetensors");
  const sinter_model_desc m = model(kParams, 2);
  Weights w;
  Normalizer z;
  z.mean = {0.5f, -1.25f, 3.0f};
  z.invStd = {2.0f, 0.125f, 1.0f};
  CheckpointExtras x;
  addNormalizer(x, z);
  saveCheckpoint(path, m, w.ptrs, &x);
  saveCheckpoint(plainPath, m, w.ptrs);
  CHECK(hasSavedNormalizer(path));
  CHECK_FALSE(hasSavedNormalizer(plainPath));
  Weights got;
  Normalizer back;
  loadWithNormalizer(path, m, got.ptrs, 3, back);
  CHECK(back.mean == z.mean);
  CHECK(back.invStd == z.invStd);
  CHECK(got.w == w.w);
  CHECK_NOTHROW(loadCheckpoint(path, m, got.ptrs));
  // Statistics of another width than the model's samples are refused, naming the tensor.
  CHECK_THROWS_WITH(loadWithNormalizer(path, m, got.ptrs, 4, back), Catch::Contains("'normalize/mean'"));
  // An inactive normalizer adds nothing.
  CheckpointExtras none;
  Normalizer inactive;
  addNormalizer(none, inactive);
  CHECK(none.tensors.empty());
}
