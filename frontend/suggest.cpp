#include "frontend/suggest.h"

#include <algorithm>
#include <numeric>

#include "frontend/reporter.h"

namespace sinter::frontend {

int editDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: Levenshtein plus the swap of two neighbours ("rleu" is one edit from
  // "relu"), the commonest typo. Three rows of the table suffice.
  const std::size_t n = b.size();
  std::vector<int> prev2(n + 1), prev(n + 1), row(n + 1);
  std::iota(prev.begin(), prev.end(), 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    row[0] = static_cast<int>(i);
    for (std::size_t j = 1; j <= n; ++j) {
      row[j] = std::min({prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) row[j] = std::min(row[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, row);
  }
  return prev[n];
}

std::optional<std::string> closestName(std::string_view name, const std::vector<std::string_view>& candidates) {
  // Names far longer than any candidate cannot be typos of one; skip the quadratic work on them.
  // One-letter names are one edit from every other one-letter name: no useful guess there.
  if (name.size() < 2 || name.size() > 64) return std::nullopt;
  const int limit = std::max(1, static_cast<int>(name.size()) / 3);
  std::optional<std::string> best;
  int bestDist = limit + 1;
  for (std::string_view c : candidates) {
    if (c == name) continue;
    int d = editDistance(name, c);
    // A clipped name ("glorot" for "glorot_uniform") is as good as a close one.
    if (d > limit && name.size() >= 3 && c.starts_with(name)) d = limit;
    if (d < bestDist) {
      bestDist = d;
      best = std::string(c);
    }
  }
  return best;
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
