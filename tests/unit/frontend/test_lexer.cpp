// The lexer: token kinds, spellings, positions and the errors it reports.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "frontend/lexer.h"

using namespace sinter::frontend;

namespace {

struct Lexed {
  DiagnosticEngine diags;
  std::vector<Token> tokens;
};

Lexed lexText(std::string_view text) {
  Lexed l;
  SourceFile file("t.sn", text);
  l.diags.addSource("t.sn", std::string(text));
  Reporter r(l.diags, file);
  l.tokens = lex(file, r);
  return l;
}

std::vector<Tok> kinds(const Lexed& l) {
  std::vector<Tok> out;
  for (const Token& t : l.tokens) out.push_back(t.kind);
  return out;
}

std::vector<std::string> texts(const Lexed& l) {
  std::vector<std::string> out;
  for (const Token& t : l.tokens) out.emplace_back(t.text);
  return out;
}

}  // namespace

TEST_CASE("lexer: a declaration", "[lexer]") {
  Lexed l = lexText("input image: f32[batch, 784]  # a comment\n");
  CHECK(kinds(l) == std::vector<Tok>{Tok::KwInput, Tok::Ident, Tok::Colon, Tok::Ident, Tok::LBracket, Tok::Ident,
                                     Tok::Comma, Tok::Number, Tok::RBracket, Tok::Newline, Tok::Eof});
  CHECK(texts(l) == std::vector<std::string>{"input", "image", ":", "f32", "[", "batch", ",", "784", "]", "\n", ""});
  CHECK_FALSE(l.diags.hasErrors());
}

TEST_CASE("lexer: positions are 1-based lines and byte columns", "[lexer]") {
  Lexed l = lexText("model M {\n  h = a @ b\n}");
  const Token& h = l.tokens[4];  // after model M { NEWLINE
  CHECK(h.text == "h");
  CHECK(h.pos.line == 2);
  CHECK(h.pos.col == 3);
  const Token& at = l.tokens[7];
  CHECK(at.kind == Tok::At);
  CHECK(at.pos.col == 9);
  CHECK(at.end().col == 10);
  CHECK(l.tokens.back().kind == Tok::Eof);
  CHECK(l.tokens.back().pos.line == 3);
  CHECK(l.tokens.back().pos.col == 2);
}

TEST_CASE("lexer: keywords are reserved, settings and builtins are names", "[lexer]") {
  Lexed l = lexText("model train input param output batch minimize relu f32 adam");
  CHECK(kinds(l) == std::vector<Tok>{Tok::KwModel, Tok::KwTrain, Tok::KwInput, Tok::KwParam, Tok::KwOutput, Tok::Ident,
                                     Tok::Ident, Tok::Ident, Tok::Ident, Tok::Ident, Tok::Eof});
}

TEST_CASE("lexer: numbers", "[lexer]") {
  Lexed l = lexText("64 0.01 1e-3 2.5E+2 7. 1e5");
  CHECK(texts(l) == std::vector<std::string>{"64", "0.01", "1e-3", "2.5E+2", "7.", "1e5", ""});
  for (std::size_t i = 0; i + 1 < l.tokens.size(); ++i) CHECK(l.tokens[i].kind == Tok::Number);
  CHECK_FALSE(l.diags.hasErrors());
}

TEST_CASE("lexer: operators and punctuation", "[lexer]") {
  Lexed l = lexText("+ - * / ** @ = : , ( ) [ ] { }");
  CHECK(kinds(l) == std::vector<Tok>{Tok::Plus, Tok::Minus, Tok::Star, Tok::Slash, Tok::Power, Tok::At, Tok::Equal,
                                     Tok::Colon, Tok::Comma, Tok::LParen, Tok::RParen, Tok::LBracket, Tok::RBracket,
                                     Tok::LBrace, Tok::RBrace, Tok::Eof});
}

TEST_CASE("lexer: blank lines and comment lines give one newline", "[lexer]") {
  Lexed l = lexText("\n\n# header\na\n\n   # c\n\r\nb\n");
  CHECK(kinds(l) == std::vector<Tok>{Tok::Ident, Tok::Newline, Tok::Ident, Tok::Newline, Tok::Eof});
  CHECK(l.tokens[2].pos.line == 8);
}

TEST_CASE("lexer: unknown characters", "[lexer]") {
  SECTION("one") {
    Lexed l = lexText("a $ b");
    CHECK(kinds(l) == std::vector<Tok>{Tok::Ident, Tok::Error, Tok::Ident, Tok::Eof});
    CHECK(l.diags.str() ==
          "t.sn:1:3: error: unknown character '$'\n"
          "a $ b\n"
          "  ^\n"
          "1 error generated.\n");
  }
  SECTION("a run is one error") {
    Lexed l = lexText(std::string("a \x01\x02\x00\x7f b", 8));
    CHECK(kinds(l) == std::vector<Tok>{Tok::Ident, Tok::Error, Tok::Ident, Tok::Eof});
    CHECK(l.diags.str() ==
          "t.sn:1:3: error: unknown characters '\\x01\\x02\\x00\\x7f'\n"
          "a ???? b\n"
          "  ^~~~\n"
          "1 error generated.\n");
  }
  SECTION("non-ASCII") {
    Lexed l = lexText("a \xc3\x97 b");
    CHECK(l.diags.all().at(0).message == "unknown character '\xc3\x97' (U+00D7)");
  }
  SECTION("semicolon") {
    Lexed l = lexText("a = b;");
    CHECK(l.diags.all().at(0).message == "unknown character ';'; statements end at a line break");
  }
}

TEST_CASE("lexer: malformed numbers", "[lexer]") {
  CHECK(lexText("784x").diags.all().at(0).message == "malformed number '784x'");
  CHECK(lexText("1e").diags.all().at(0).message == "malformed number '1e'");
  CHECK(lexText("1.2.3").diags.all().at(0).message == "malformed number '1.2.3'");
  CHECK(lexText("x = .5").diags.all().at(0).message == "a number must start with a digit: write '0.5'");
  Lexed l = lexText("784x y");
  CHECK(kinds(l) == std::vector<Tok>{Tok::Error, Tok::Ident, Tok::Eof});
}

TEST_CASE("lexer: binary garbage lexes to the end", "[lexer][robustness]") {
  std::string junk;
  std::uint32_t x = 12345;
  for (int i = 0; i < 200000; ++i) {
    x = x * 1664525u + 1013904223u;
    junk += static_cast<char>(x >> 24);
  }
  Lexed l = lexText(junk);
  REQUIRE_FALSE(l.tokens.empty());
  CHECK(l.tokens.back().kind == Tok::Eof);
  CHECK(l.diags.hasErrors());
  CHECK(l.diags.limitReached());
  CHECK(l.diags.all().size() == 51);  // 50 errors, then "too many errors"
}
