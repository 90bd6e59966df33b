#include "runtime/text_reader.h"

#include "runtime/error.h"
#include "runtime/file_io.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace sinter::rt {
namespace {

std::string hexByte(unsigned char b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", b);
  return buf;
}

// The code point of the UTF-8 sequence at bytes[i], advancing i past it; `why` says what is wrong when
// the bytes there are not UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
bool decodeOne(const std::string& bytes, size_t& i, char32_t& out, std::string& why) {
  const auto b0 = static_cast<unsigned char>(bytes[i]);
  int extra = 0;
  char32_t c = 0, least = 0;
  if (b0 < 0x80) {
    out = b0, ++i;
    return true;
  }
  if (b0 >= 0xC2 && b0 <= 0xDF) extra = 1, c = b0 & 0x1F, least = 0x80;
  else if (b0 >= 0xE0 && b0 <= 0xEF) extra = 2, c = b0 & 0x0F, least = 0x800;
  else if (b0 >= 0xF0 && b0 <= 0xF4) extra = 3, c = b0 & 0x07, least = 0x10000;
  else {
    why = "byte " + hexByte(b0) + (b0 < 0xC0 ? " is a continuation byte with no lead byte" : " never occurs in UTF-8");
    return false;
  }
  for (int k = 1; k <= extra; ++k) {
    if (i + k >= bytes.size() || (static_cast<unsigned char>(bytes[i + k]) & 0xC0) != 0x80) {
      why = "the sequence starting with byte " + hexByte(b0) + " is cut short";
      return false;
    }
    c = (c << 6) | (static_cast<unsigned char>(bytes[i + k]) & 0x3F);
  }
  if (c < least || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
    why = "the sequence starting with byte " + hexByte(b0) +
          (c < least      ? " is an overlong form"
           : c > 0x10FFFF ? " is above U+10FFFF"
                          : " encodes a surrogate");
    return false;
  }
  out = c;
  i += static_cast<size_t>(extra) + 1;
  return true;
}

void appendUtf8(std::string& s, char32_t c) {
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
}

}  // namespace

Text readText(const std::string& path) {
  const std::string bytes = readFile(path);
  Text t;
  t.path = path;
  size_t i = bytes.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;  // a byte order mark is not text
  int64_t line = 1, column = 1;
  while (i < bytes.size()) {
    char32_t c = 0;
    std::string why;
    const size_t at = i;
    if (!decodeOne(bytes, i, c, why))
      throw Error(path + ":" + std::to_string(line) + ":" + std::to_string(column) + ": not UTF-8 at byte offset " +
                  std::to_string(at) + ": " + why + "; the text reader takes UTF-8 (or ASCII) text");
    t.chars.push_back(c);
    t.lines.push_back(line);
    t.columns.push_back(column);
    if (c == '\n') ++line, column = 1;
    else ++column;
  }
  if (t.chars.empty()) throw Error(path + ": the file is empty: a language model needs text to train on");
  return t;
}

Vocabulary Vocabulary::of(const Text& t) {
  const std::set<char32_t> distinct(t.chars.begin(), t.chars.end());
  return Vocabulary{t.path, std::vector<char32_t>(distinct.begin(), distinct.end())};
}

int32_t Vocabulary::id(char32_t c) const {
  const auto it = std::lower_bound(chars.begin(), chars.end(), c);
  return it != chars.end() && *it == c ? static_cast<int32_t>(it - chars.begin()) : -1;
}

std::string describeChar(char32_t c) {
  char code[16];
  std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
  if (c == '\n') return "'\\n'";
  if (c == '\t') return "'\\t'";
  if (c == '\r') return "'\\r'";
  std::string s = c < 0x20 || c == 0x7F ? std::string(code) : "'";
  if (c < 0x20 || c == 0x7F) return s;
  appendUtf8(s, c);
  s += "'";
  return c < 0x80 ? s : std::string(code) + " " + s;
}

Dataset textWindows(const Text& t, const Vocabulary& vocab, int64_t window) {
  const auto count = static_cast<int64_t>(t.chars.size());
  if (count < window + 1)
    throw Error(t.path + " has " + std::to_string(count) + " character" + (count == 1 ? "" : "s") +
                ", fewer than one window of " + std::to_string(window) + " and its next-character target (" +
                std::to_string(window + 1) + "): give a longer text, or a model with a sequence length of at most " +
                std::to_string(count - 1));
  std::vector<int32_t> ids(static_cast<size_t>(count));
  for (int64_t k = 0; k < count; ++k) {
    ids[k] = vocab.id(t.chars[k]);
    if (ids[k] < 0)
      throw Error(t.path + ":" + std::to_string(t.lines[k]) + ":" + std::to_string(t.columns[k]) + ": character " +
                  describeChar(t.chars[k]) + " is not in the vocabulary of " + vocab.source + " (its " +
                  std::to_string(vocab.size()) +
                  " distinct characters): evaluate on text made of the training text's characters");
  }
  Dataset d;
  d.source = t.path;
  d.n = (count - 1) / window;
  d.features = window;
  d.labelWidth = window;
  d.shapeText = std::to_string(window) + " characters";
  d.values.resize(static_cast<size_t>(d.n * window));
  d.labels.resize(static_cast<size_t>(d.n * window));
  for (int64_t k = 0; k < d.n * window; ++k) {
    d.values[k] = static_cast<float>(ids[k]);
    d.labels[k] = ids[k + 1];
  }
  return d;
}

}  // namespace sinter::rt
