#include "runtime/sharded_eval.h"

#include "runtime/rank_share.h"
#include "runtime/splits.h"

#include <numeric>
#include <string>
#include <vector>

namespace sinter::rt {

Dataset evaluationShard(const Dataset& set, const Communicator& comm) {
  if (comm.single()) return set;
  const Share s = rankShare(set.n, comm.rank(), comm.size());
  std::vector<int64_t> rows(static_cast<size_t>(s.count));
  std::iota(rows.begin(), rows.end(), s.offset);
  return set.subset(rows, "shard " + std::to_string(comm.rank()) + " of " + std::to_string(comm.size()));
}

SplitMetrics evaluateShards(const sinter_model_desc& m, const Layout& l, const Dataset& shard, const Normalizer& norm,
                            int64_t batch, int64_t topK, Buffers& b, Communicator& comm) {
  MetricSums sums = sumSplit(m, l, shard, norm, batch, topK, b);
  if (comm.single()) return sums.result();
  std::vector<double> packed = sums.packed();
  comm.allreduceSum(packed.data(), static_cast<int64_t>(packed.size()));
  sums.unpack(packed);
  return sums.result();
}

}  // namespace sinter::rt
