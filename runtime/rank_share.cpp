#include "runtime/rank_share.h"

#include "runtime/error.h"

#include <string>

namespace sinter::rt {

Share rankShare(int64_t count, int rank, int ranks) {
  const int64_t each = count / ranks, extra = count % ranks;
  return {rank * each + (rank < extra ? rank : extra), each + (rank < extra ? 1 : 0)};
}

void checkBatchSplits(int64_t batch, int ranks) {
  if (batch % ranks == 0) return;
  const int64_t down = batch / ranks * ranks, up = down + ranks;
  throw Error("--batch " + std::to_string(batch) + " is the global batch and does not split over " +
              std::to_string(ranks) + " processes: pass a multiple of " + std::to_string(ranks) + " (e.g. --batch " +
              (down > 0 ? std::to_string(down) + " or " : std::string()) + std::to_string(up) +
              "), or run a number of processes that divides it");
}

}  // namespace sinter::rt
