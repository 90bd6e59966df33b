#include "frontend/suggest.h"

#include <algorithm>
#include <cstdlib>

#include "frontend/reporter.h"

namespace sinter::frontend {

int editDistance(std::string_view a, std::string_view b) {
  const int most = static_cast<int>(std::max(a.size(), b.size()));
  return boundedEditDistance(a, b, most);
}

int boundedEditDistance(std::string_view a, std::string_view b, int limit) {
  // Optimal string alignment: Levenshtein plus the swap of two neighbours ("rleu" is one edit from
  // "relu"), the commonest typo. Three rows of the table suffice, and only the cells within `limit` of the
  // diagonal can stay within the limit; once a whole row exceeds it, so does the answer.
  const int n = static_cast<int>(b.size()), m = static_cast<int>(a.size());
  if (std::abs(n - m) > limit) return limit + 1;
  const int big = limit + 1;
  // Three rows on the stack for the names people write; the heap only for absurdly long ones.
  constexpr std::size_t kStackCells = std::size_t{3} * 96;
  const std::size_t width = static_cast<std::size_t>(n) + 1;
  int stackCells[kStackCells];
  std::vector<int> heapCells;
  int* cells = stackCells;
  if (3 * width > kStackCells) {
    heapCells.resize(3 * width);
    cells = heapCells.data();
  }
  int* prev2 = cells;
  int* prev = cells + width;
  int* row = cells + 2 * width;
  std::fill(cells, cells + 3 * width, big);
  for (int j = 0; j <= std::min(n, limit); ++j) prev[j] = j;
  for (int i = 1; i <= m; ++i) {
    const int lo = std::max(1, i - limit), hi = std::min(n, i + limit);
    std::fill(row, row + width, big);
    row[0] = i <= limit ? i : big;
    int best = row[0];
    for (int j = lo; j <= hi; ++j) {
      int d = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d = std::min(d, prev2[j - 2] + 1);
      row[j] = std::min(d, big);
      best = std::min(best, row[j]);
    }
    if (best > limit) return big;
    std::swap(prev2, prev);
    std::swap(prev, row);
  }
  return std::min(prev[n], big);
}

std::optional<std::string> closestName(std::string_view name, const std::vector<std::string_view>& candidates) {
  // Names far longer than any candidate cannot be typos of one; skip the quadratic work on them.
  // One-letter names are one edit from every other one-letter name: no useful guess there.
  if (name.size() < 2 || name.size() > 64) return std::nullopt;
  const int limit = std::max(1, static_cast<int>(name.size()) / 3);
  std::optional<std::string_view> best;
  int bestDist = limit + 1;
  for (std::string_view c : candidates) {
    if (c == name) continue;
    // A clipped name ("glorot" for "glorot_uniform") is as good as a close one.
    const bool clipped = name.size() >= 3 && c.size() > name.size() && c.starts_with(name);
    // Only a strictly closer candidate can win: search with the bound that would still improve.
    int d = boundedEditDistance(name, c, bestDist - 1);
    if (d > limit && clipped) d = limit;
    if (d < bestDist) {
      bestDist = d;
      best = c;
      if (d == 1) break;  // nothing beats one edit (an exact match is no suggestion)
    }
  }
  if (!best) return std::nullopt;
  return std::string(*best);
}

std::string didYouMean(std::string_view name, const std::vector<std::string_view>& candidates) {
  if (auto best = closestName(name, candidates)) return "; did you mean " + quoted(*best) + "?";
  return {};
}

std::string listNames(const std::vector<std::string_view>& names, std::string_view conjunction) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " " + std::string(conjunction) + " " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace sinter::frontend
