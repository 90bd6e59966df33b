// Text for character-level language models: a UTF-8 file decoded into characters (Unicode code points),
// a vocabulary of the characters a training text holds, and the text cut into windows of token ids with
// their next-character targets.
#pragma once

#include "runtime/dataset.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sinter::rt {

// The characters of a text file in order, with where each starts, for messages.
struct Text {
  std::string path;
  std::vector<char32_t> chars;
  std::vector<int64_t> lines, columns;  // 1-based; the column counts characters
};

// Reads and decodes `path` (UTF-8, a leading byte order mark skipped). Throws Error naming the file, the
// byte offset, line and column of the first byte that is not UTF-8 (a stray continuation byte, a
// truncated sequence, an overlong form, a surrogate or a value above U+10FFFF), and for an empty file.
Text readText(const std::string& path);

// Token ids of a text: the distinct characters of the training text sorted by code point, id = rank. The
// same file always gives the same vocabulary, which is how evaluation (`sinter run`) agrees with training
// without storing it anywhere.
struct Vocabulary {
  std::string source;  // the text it was built from
  std::vector<char32_t> chars;

  static Vocabulary of(const Text& t);
  int64_t size() const { return static_cast<int64_t>(chars.size()); }
  // The id of c, or -1 when it is not in the vocabulary.
  int32_t id(char32_t c) const;
};

// "'a'", "'\n'" or "U+00E9 'é'": a character as messages show it.
std::string describeChar(char32_t c);

// Cuts t into n = (characters - 1) / window non-overlapping windows: sample i holds the ids of characters
// [i * window, (i + 1) * window) in Dataset::values and its targets, the ids of the characters one further
// on, in Dataset::labels (labelWidth = window). The characters past the last whole window are left out.
// Throws Error naming the file when it is shorter than window + 1 characters, and at the first character
// (line and column) that `vocab` lacks.
Dataset textWindows(const Text& t, const Vocabulary& vocab, int64_t window);

}  // namespace sinter::rt
