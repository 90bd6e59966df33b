// "Did you mean ...?": the closest known name by edit distance, when it is close enough to be a typo.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sinter::frontend {

// Edit distance (insertions, deletions, substitutions, and swaps of neighbours).
int editDistance(std::string_view a, std::string_view b);

// The same when it is at most `limit`, else limit + 1, in time proportional to the shorter length times
// the limit: strings whose lengths differ by more than the limit cost nothing.
int boundedEditDistance(std::string_view a, std::string_view b, int limit);

// The candidate nearest to `name`, if within about a third of its length (at least one edit); the first
// of equally near ones. Each candidate costs at most O(|name| * limit), most of them O(1).
std::optional<std::string> closestName(std::string_view name, const std::vector<std::string_view>& candidates);

// "; did you mean 'relu'?" or "" — to append to a message.
std::string didYouMean(std::string_view name, const std::vector<std::string_view>& candidates);

// "a, b or c" — for "expected one of ..." messages.
std::string listNames(const std::vector<std::string_view>& names, std::string_view conjunction = "or");

}  // namespace sinter::frontend
