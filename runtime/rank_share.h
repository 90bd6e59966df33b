// Which samples of a global batch a rank trains on. The global batch (--batch) means what it means in one
// process; the ranks split each one into contiguous shares of the epoch's shuffled order, so that every
// sample is seen once an epoch whatever the number of ranks.
#pragma once

#include <cstdint>

namespace sinter::rt {

struct Share {
  int64_t offset = 0, count = 0;  // into the batch
};

// Rank `rank` of `ranks`' share of a batch of `count` samples: count / ranks each, the first count % ranks
// ranks one more (the last, partial batch of an epoch may leave some ranks none).
Share rankShare(int64_t count, int rank, int ranks);

// Throws Error, saying how to fix it, when a global batch of `batch` does not split evenly over `ranks`.
void checkBatchSplits(int64_t batch, int ranks);

}  // namespace sinter::rt
