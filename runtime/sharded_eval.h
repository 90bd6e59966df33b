// Evaluation of a split by several processes: each measures a contiguous shard of it and the sums of the
// shards are added up, so that every process gets the split's figures (as one process measures them, up to
// the rounding of the sums) in 1/P of the time.
#pragma once

#include "runtime/communicator.h"
#include "runtime/dataset.h"
#include "runtime/metrics.h"
#include "runtime/model_layout.h"

#include <sinter/model_abi.h>

#include <cstdint>

namespace sinter::rt {

// This process's shard of `set` (the whole of it for one process).
Dataset evaluationShard(const Dataset& set, const Communicator& comm);

// The figures of the split whose shards the processes hold, `batch` samples at a time.
SplitMetrics evaluateShards(const sinter_model_desc& m, const Layout& l, const Dataset& shard, const Normalizer& norm,
                            int64_t batch, int64_t topK, Buffers& b, Communicator& comm);

}  // namespace sinter::rt
