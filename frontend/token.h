// The tokens of the model language.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "frontend/source.h"

namespace sinter::frontend {

enum class Tok : std::uint8_t {
  Eof,
  Newline,  // statements end at a line break; the parser skips them inside ( ) and [ ]
  Error,    // bytes the lexer already reported; the parser drops the statement silently
  Ident,
  Number,
  // Keywords. Train settings (minimize, batch, ...) and 'in' stay identifiers so that `batch` can name a
  // dimension and `in` a layer argument.
  KwModel,
  KwTrain,
  KwInput,
  KwParam,
  KwOutput,
  KwLayer,
  KwDef,
  KwFor,
  KwReturn,
  KwImport,
  KwIf,
  KwElse,
  String,  // "nn.sn": only after 'import'; the token's text keeps the quotes
  // Punctuation.
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Colon,
  Equal,
  Plus,
  Minus,
  Star,
  Slash,
  Power,  // **
  At,
  Dot,     // .   (a layer instance's member: enc.fc1)
  DotDot,  // ..  (a static range: 0..28)
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  EqualEqual,
  NotEqual,
};

struct Token {
  Tok kind = Tok::Eof;
  Pos pos;                // of its first character
  std::string_view text;  // its spelling, a view into the source; tokens never span lines

  Pos end() const { return {pos.line, pos.col + static_cast<int>(text.size())}; }
  Range range() const { return {pos, end()}; }
  bool is(Tok k) const { return kind == k; }
};

// "'('", "'model'", "end of line": how messages name a token kind.
std::string_view tokName(Tok k);
// How messages name a particular token: "'w1'", "number '1e-3'", "end of file".
std::string describe(const Token& t);

}  // namespace sinter::frontend
