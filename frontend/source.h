// Source text and positions in it. Lines and columns are 1-based; columns count bytes, as clang's do.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/types.h"

namespace sinter::frontend {

struct Pos {
  int line = 0;
  int col = 0;
};

// A stretch of source text; `end` is one past its last character.
struct Range {
  Pos begin, end;
};

inline Range join(Range a, Range b) { return {a.begin, b.end}; }

// Lines end with "\n", "\r\n" or a lone "\r" (old Mac OS files, some exporters): true when text[i] ends a
// line, that is a '\n' or a '\r' not followed by '\n' (the '\r' of "\r\n" is trailing space).
inline bool endsLine(std::string_view text, std::size_t i) {
  return text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.size() || text[i + 1] != '\n'));
}

// The index of the first character at or after `from` that ends a line, or text.size().
inline std::size_t lineEnd(std::string_view text, std::size_t from) {
  while (from < text.size() && !endsLine(text, from)) ++from;
  return from;
}

// A file's name and text, with the offsets of its lines so that diagnostics can quote them.
class SourceFile {
 public:
  SourceFile(std::string name, std::string_view text);

  const std::string& name() const { return name_; }
  std::string_view text() const { return text_; }
  int lineCount() const { return static_cast<int>(lineStarts_.size()); }
  // Line n without its line break ("\n", "\r\n" or "\r"); empty when out of range.
  std::string_view line(int n) const;
  ir::SourceLoc loc(Pos p) const { return {name_, p.line, p.col}; }

 private:
  std::string name_;
  std::string_view text_;
  std::vector<std::size_t> lineStarts_;
};

// Files larger than this are refused: columns are ints and no model needs more.
inline constexpr std::size_t kMaxSourceBytes = std::size_t{256} << 20;

// Reads a whole file. On failure returns nullopt and sets `error` to the reason ("No such file or
// directory").
std::optional<std::string> readSourceFile(const std::string& path, std::string& error);

}  // namespace sinter::frontend
