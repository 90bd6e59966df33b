// Extra inputs (masks, lengths): read from NPY and IDX files, checked against the model and the split, carried
// through the validation split and the --limit cut, and gathered in the shuffled order with their samples.
#include "runtime/dataset.h"
#include "runtime/error.h"
#include "runtime/extra_inputs.h"
#include "runtime/npy_writer.h"
#include "test_util.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <vector>

using namespace sinter::rt;
using sinter::test::TempDir;

namespace {

// lengths i32[batch] and mask f32[batch, 3] after samples and labels; the descriptor holds what
// attachExtras reads: the inputs' names and dtypes.
const int64_t kBatch[] = {-1}, kRow[] = {-1, 3};
const sinter_tensor_desc kInputs[] = {{"x", SINTER_F32, 2, kRow, 0, 0, 0},
                                      {"y", SINTER_I32, 1, kBatch, 0, 0, 0},
                                      {"lengths", SINTER_I32, 1, kBatch, 0, 0, 0},
                                      {"mask", SINTER_F32, 2, kRow, 0, 0, 0}};

sinter_model_desc model() {
  sinter_model_desc m{};
  m.name = "Extras";
  m.num_inputs = 4;
  m.inputs = kInputs;
  return m;
}

Layout layout() {
  Layout l;
  l.imageInput = 0;
  l.labelInput = 1;
  l.extras = {{2, SINTER_I32, 1}, {3, SINTER_F32, 3}};
  return l;
}

Dataset samples(int64_t n) {
  Dataset d;
  d.source = "x.npy";
  d.n = n;
  d.features = 3;
  d.values.assign(static_cast<size_t>(n * 3), 0.0f);
  return d;
}

std::string attachError(const ExtraFiles& files, int64_t n = 4) {
  Dataset d = samples(n);
  try {
    attachExtras(model(), layout(), files, "--input", d);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("extra inputs: read, cut, split and gathered with their samples") {
  TempDir dir("extras");
  const std::string lengths = dir.file("lengths.npy"), mask = dir.file("mask.idx");
  writeNpy(lengths, {4}, {3, 1, 2, 3});
  // An IDX mask keeps its bytes as they are (IDX samples are scaled by 1/255, extra inputs are not).
  sinter::test::writeBytes(mask, {0, 0, 8, 2, 0, 0, 0, 4, 0, 0, 0, 3, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1});
  Dataset d = samples(4);
  attachExtras(model(), layout(), {{2, lengths}, {3, mask}}, "--input", d);
  REQUIRE(d.extras.size() == 2);
  CHECK(d.extras[1].values == std::vector<float>{1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1});

  // Rows 3 and 1 of a shuffled order, as the driver gathers a batch: each sample's own values.
  const int64_t order[] = {0, 3, 1, 2};
  int32_t n[2];
  float m[6];
  gatherExtra(d.extras[0], order, 1, 2, n);
  gatherExtra(d.extras[1], order, 1, 2, m);
  CHECK(std::vector<int32_t>(n, n + 2) == std::vector<int32_t>{3, 1});
  CHECK(std::vector<float>(m, m + 6) == std::vector<float>{1, 1, 1, 1, 0, 0});

  // A validation split keeps the extra values of the samples it takes.
  const Dataset sub = d.subset({2, 0}, "validation");
  REQUIRE(sub.extras.size() == 2);
  CHECK(sub.extras[0].values == std::vector<float>{2, 3});
  CHECK(sub.extras[1].values == std::vector<float>{1, 1, 0, 1, 1, 1});
  CHECK(sub.extras[0].source == lengths + " (validation)");
}

TEST_CASE("extra inputs: every misfit is an error naming the input and the file") {
  TempDir dir("extras_bad");
  const std::string lengths = dir.file("lengths.npy"), mask = dir.file("mask.npy");
  writeNpy(lengths, {4}, {3, 1, 2, 3});
  writeNpy(mask, {4, 3}, std::vector<float>(12, 1.0f));
  CHECK_THAT(attachError({{2, lengths}}),
             Catch::Contains("model input 'mask' has no data for x.npy: pass --input mask=FILE, an NPY or IDX file "
                             "[n, ...] of its 3 values per sample"));
  CHECK_THAT(
      attachError({{2, lengths}, {3, mask}}, 5),
      Catch::Contains(lengths + " has 4 samples but x.npy has 5: model input 'lengths' needs one row per sample"));
  CHECK_THAT(attachError({{2, mask}, {3, mask}}),
             Catch::Contains(mask + " has shape [4, 3]: model input 'lengths' takes 1 value per sample"));
  writeNpy(lengths, {4}, {3, 1, 2.5f, 3});
  CHECK_THAT(attachError({{2, lengths}, {3, mask}}),
             Catch::Contains(lengths + ": element 0 of sample 2 is 2.500000, not an integer: model input 'lengths' "
                                       "is i32"));
  writeNpy(lengths, {4}, {3, 1, 2, 3});
  std::vector<float> nan(12, 1.0f);
  nan[7] = std::numeric_limits<float>::quiet_NaN();
  writeNpy(mask, {4, 3}, nan);
  CHECK_THAT(attachError({{2, lengths}, {3, mask}}),
             Catch::Contains(mask + ": element 1 of sample 2 is nan, not finite"));
  sinter::test::writeBytes(mask, {0x93, 'N', 'U'});
  CHECK_THAT(attachError({{2, lengths}, {3, mask}}), Catch::Contains(mask));
}
