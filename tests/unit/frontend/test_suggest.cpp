// "Did you mean": the bounded edit distance against a plain dynamic-programming oracle, and the choice
// of the nearest name.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "frontend/suggest.h"

using namespace sinter::frontend;

namespace {

// Optimal string alignment distance by the textbook full table: the oracle.
int osa(const std::string& a, const std::string& b) {
  std::vector<std::vector<int>> d(a.size() + 1, std::vector<int>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

}  // namespace

TEST_CASE("suggest: the bounded distance is the distance when within the bound, bound + 1 otherwise") {
  std::mt19937 rng(18);
  auto word = [&] {
    std::string s(rng() % 12, ' ');
    for (char& c : s) c = static_cast<char>('a' + rng() % 4);  // a small alphabet: many near words
    return s;
  };
  for (int k = 0; k < 20000; ++k) {
    const std::string a = word(), b = word();
    const int limit = static_cast<int>(rng() % 6);
    const int want = osa(a, b);
    INFO(a << " / " << b << " limit " << limit);
    CHECK(editDistance(a, b) == want);
    CHECK(boundedEditDistance(a, b, limit) == std::min(want, limit + 1));
  }
  CHECK(editDistance("rleu", "relu") == 1);
  CHECK(boundedEditDistance(std::string(500, 'x'), std::string(500, 'y'), 3) == 4);  // long: on the heap
}

TEST_CASE("suggest: the nearest candidate, the first of equals, clipped names, nothing far") {
  CHECK(closestName("rleu", {"tanh", "relu", "gelu"}) == std::optional<std::string>("relu"));
  CHECK(closestName("abcd", {"xyz", "abce", "abcf"}) == std::optional<std::string>("abce"));  // the first of equals
  CHECK(closestName("glorot", {"zeros", "glorot_uniform"}) == std::optional<std::string>("glorot_uniform"));
  CHECK_FALSE(closestName("w", {"x"}));
  CHECK_FALSE(closestName("alpha", {"omega", "x"}));
  // A name close to none of many candidates of other lengths is rejected without a table each.
  std::vector<std::string> many;
  for (int i = 0; i < 100000; ++i) many.push_back("layer_" + std::to_string(i) + "_weight");
  const std::vector<std::string_view> views(many.begin(), many.end());
  CHECK_FALSE(closestName("bias", views));
  CHECK(closestName("layer_77_wieght", views) == std::optional<std::string>("layer_77_weight"));
}
