// The text reader of character-level language models (runtime/text_reader.h): UTF-8 decoding, the
// vocabulary, the windows and their next-character targets, and every bad input.
#include <catch2/catch.hpp>

#include "runtime/error.h"
#include "runtime/text_reader.h"
#include "test_util.h"

#include <string>
#include <vector>

using namespace sinter::rt;
using namespace sinter::test;

namespace {

std::string writeText(const TempDir& dir, const std::string& name, const std::string& bytes) {
  writeBytes(dir.file(name), std::vector<uint8_t>(bytes.begin(), bytes.end()));
  return dir.file(name);
}

// The message readText throws for `bytes`, or "(no error)".
std::string readError(const TempDir& dir, const std::string& bytes) {
  try {
    readText(writeText(dir, "bad.txt", bytes));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("text: UTF-8 decoded into characters with their lines and columns, a byte order mark skipped") {
  TempDir dir("text");
  const Text t = readText(writeText(dir, "t.txt", "\xEF\xBB\xBFh\xC3\xA9\n\xE2\x82\xAC\xF0\x9F\x98\x80"));
  CHECK(t.chars == std::vector<char32_t>{U'h', U'\u00E9', U'\n', U'\u20AC', U'\U0001F600'});
  CHECK(t.lines == std::vector<int64_t>{1, 1, 1, 2, 2});
  CHECK(t.columns == std::vector<int64_t>{1, 2, 3, 1, 2});
  const Vocabulary v = Vocabulary::of(t);  // sorted by code point
  CHECK(v.chars == std::vector<char32_t>{U'\n', U'h', U'\u00E9', U'\u20AC', U'\U0001F600'});
  CHECK(v.id(U'h') == 1);
  CHECK(v.id(U'\U0001F600') == 4);
  CHECK(v.id(U'x') == -1);
  CHECK(describeChar(U'x') == "'x'");
  CHECK(describeChar(U'\n') == "'\\n'");
  CHECK(describeChar(0x01) == "U+0001");
  CHECK(describeChar(U'\u00E9') == "U+00E9 '\xC3\xA9'");
}

TEST_CASE("text: windows of ids and the next character's ids, the tail past the last window left out") {
  TempDir dir("text");
  const Text t = readText(writeText(dir, "t.txt", "abcabcabcabd"));  // 12 characters: (12 - 1) / 3 = 3 windows
  const Vocabulary v = Vocabulary::of(t);                            // a 0, b 1, c 2, d 3
  const Dataset d = textWindows(t, v, 3);
  CHECK(d.n == 3);
  CHECK(d.features == 3);
  CHECK(d.labelWidth == 3);
  CHECK(d.values == std::vector<float>{0, 1, 2, 0, 1, 2, 0, 1, 2});
  CHECK(d.labels == std::vector<int32_t>{1, 2, 0, 1, 2, 0, 1, 2, 0});
  const Dataset e = textWindows(t, v, 11);  // exactly one window and its target
  CHECK(e.n == 1);
  CHECK(e.labels.back() == 3);
  // A subset (the validation split) keeps each window's targets with it.
  const Dataset s = textWindows(t, v, 2).subset({4}, "validation");  // characters 8, 9: "ca" -> "ab"
  CHECK(s.values == std::vector<float>{2, 0});
  CHECK(s.labels == std::vector<int32_t>{0, 1});
}

TEST_CASE("text: bad files name the file and what would fit") {
  TempDir dir("text");
  CHECK_THAT(readError(dir, ""), Catch::Contains("bad.txt: the file is empty"));
  CHECK_THAT(readError(dir, "\xEF\xBB\xBF"), Catch::Contains("the file is empty"));
  CHECK_THROWS_AS(readText(dir.file("missing.txt")), IoError);
  CHECK_THAT(readError(dir, "ab\ncd\x80"),
             Catch::Contains("bad.txt:2:3: not UTF-8 at byte offset 5: byte 0x80 is a continuation byte"));
  CHECK_THAT(readError(dir, "a\xC3"), Catch::Contains("bad.txt:1:2: not UTF-8 at byte offset 1: the sequence "
                                                      "starting with byte 0xC3 is cut short"));
  CHECK_THAT(readError(dir, "\xC3x"), Catch::Contains("cut short"));
  CHECK_THAT(readError(dir, "\xC0\x80"), Catch::Contains("byte 0xC0 never occurs in UTF-8"));
  CHECK_THAT(readError(dir, "\xE0\x80\x80"), Catch::Contains("0xE0 is an overlong form"));
  CHECK_THAT(readError(dir, "\xED\xA0\x80"), Catch::Contains("encodes a surrogate"));
  CHECK_THAT(readError(dir, "\xF4\x90\x80\x80"), Catch::Contains("is above U+10FFFF"));
  CHECK_THAT(readError(dir, "\xFF"), Catch::Contains("byte 0xFF never occurs in UTF-8"));
  CHECK(readError(dir, "caf\xC3\xA9") == "(no error)");

  const Text shortText = readText(writeText(dir, "short.txt", "abc"));
  CHECK_THROWS_WITH(textWindows(shortText, Vocabulary::of(shortText), 3),
                    Catch::Contains("short.txt has 3 characters, fewer than one window of 3 and its next-character "
                                    "target (4): give a longer text, or a model with a sequence length of at most 2"));
  const Text train = readText(writeText(dir, "train.txt", "abab"));
  const Text test = readText(writeText(dir, "test.txt", "ab\nb\xC3\xA9"));
  CHECK_THROWS_WITH(textWindows(test, Vocabulary::of(train), 2),
                    Catch::Contains("test.txt:1:3: character '\\n' is not in the vocabulary of") &&
                        Catch::Contains("train.txt (its 2 distinct characters)"));
  const Text accent = readText(writeText(dir, "accent.txt", "ab\xC3\xA9"));
  CHECK_THROWS_WITH(textWindows(accent, Vocabulary::of(train), 2),
                    Catch::Contains("accent.txt:1:3: character U+00E9 '\xC3\xA9' is not in the vocabulary"));
}
