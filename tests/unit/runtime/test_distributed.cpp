// The pieces of data-parallel training that need no MPI (docs/distributed.md): the ranks' shares of a batch,
// the error for a batch that does not split, and the metric sums of shards added up as an all-reduce would.
#include <catch2/catch.hpp>

#include "runtime/error.h"
#include "runtime/metrics.h"
#include "runtime/rank_share.h"

#include <vector>

using namespace sinter::rt;

TEST_CASE("distributed: the ranks' shares tile the batch in rank order") {
  for (int ranks : {1, 2, 3, 4, 7})
    for (int64_t count : {0, 1, 5, 63, 64, 65}) {
      int64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const Share s = rankShare(count, r, ranks);
        CHECK(s.offset == next);
        CHECK((s.count == count / ranks || s.count == count / ranks + 1));
        next += s.count;
      }
      CHECK(next == count);
    }
  // The last partial batch of 5 over 4 processes: 2, 1, 1, 1; of 2 over 4: the last two ranks get none.
  CHECK(rankShare(5, 0, 4).count == 2);
  CHECK(rankShare(5, 1, 4).offset == 2);
  CHECK(rankShare(2, 3, 4).count == 0);
}

TEST_CASE("distributed: a global batch that does not split says how to fix it") {
  CHECK_NOTHROW(checkBatchSplits(64, 4));
  CHECK_THROWS_WITH(checkBatchSplits(63, 2), Catch::Contains("--batch 63") && Catch::Contains("--batch 62 or 64"));
  CHECK_THROWS_WITH(checkBatchSplits(3, 4), Catch::Contains("a multiple of 4 (e.g. --batch 4)"));
}

TEST_CASE("distributed: the sums of two shards add up to the whole split's figures") {
  // Four samples of 3 classes, labels 1, 1, 2, 0 (as test_metrics.cpp): the whole split, then two shards of
  // two samples whose packed sums are added element-wise.
  const float probs[] = {0.1f, 0.8f, 0.1f, 0.5f, 0.5f, 0.0f, 0.2f, 0.3f, 0.1f, 0.9f, 0.05f, 0.05f};
  const int32_t labels[] = {1, 1, 2, 0};
  MetricSums whole, first, second;
  whole.addLoss(1.5, 4);
  whole.addClasses(labels, probs, SINTER_F32, 3, 4, 2);
  first.addLoss(1.0, 2);
  first.addClasses(labels, probs, SINTER_F32, 3, 2, 2);
  second.addLoss(2.0, 2);
  second.addClasses(labels + 2, probs + 6, SINTER_F32, 3, 2, 2);
  std::vector<double> sum = first.packed();
  const std::vector<double> other = second.packed();
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += other[i];
  MetricSums added;
  added.unpack(sum);
  const SplitMetrics a = added.result(), w = whole.result();
  CHECK(a.samples == 4);
  CHECK(a.loss == w.loss);
  CHECK(a.correct == w.correct);
  CHECK(a.accuracy == w.accuracy);
  CHECK(a.topKCorrect == w.topKCorrect);

  // Floating targets: R^2 needs the per-column sums, not the shards' R^2.
  const double y[] = {1, 0, 2, 0, 3, 4}, p[] = {1, 1, 2, 0, 5, 4};
  MetricSums wv(2), s1(2), s2(2);
  wv.addLoss(0, 3);
  wv.addValues(y, p, SINTER_F64, 3);
  s1.addLoss(0, 1);
  s1.addValues(y, p, SINTER_F64, 1);
  s2.addLoss(0, 2);
  s2.addValues(y + 2, p + 2, SINTER_F64, 2);
  std::vector<double> v = s1.packed();
  const std::vector<double> v2 = s2.packed();
  for (size_t i = 0; i < v.size(); ++i) v[i] += v2[i];
  MetricSums av(2);
  av.unpack(v);
  CHECK(av.result().r2 == Approx(wv.result().r2));
  CHECK(av.result().rmse == Approx(wv.result().rmse));
  CHECK(av.result().mae == Approx(wv.result().mae));
}
