#include "frontend/lexer.h"

#include <fmt/format.h>

#include <algorithm>

namespace sinter::frontend {
namespace {

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c); }
bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

Tok keywordOrIdent(std::string_view word) {
  if (word == "model") return Tok::KwModel;
  if (word == "train") return Tok::KwTrain;
  if (word == "input") return Tok::KwInput;
  if (word == "param") return Tok::KwParam;
  if (word == "output") return Tok::KwOutput;
  if (word == "layer") return Tok::KwLayer;
  if (word == "def") return Tok::KwDef;
  if (word == "for") return Tok::KwFor;
  if (word == "return") return Tok::KwReturn;
  if (word == "import") return Tok::KwImport;
  if (word == "if") return Tok::KwIf;
  if (word == "else") return Tok::KwElse;
  return Tok::Ident;
}

// Single-character punctuation; Tok::Eof when c is none.
Tok punctuation(char c) {
  switch (c) {
    case '(': return Tok::LParen;
    case ')': return Tok::RParen;
    case '[': return Tok::LBracket;
    case ']': return Tok::RBracket;
    case '{': return Tok::LBrace;
    case '}': return Tok::RBrace;
    case ',': return Tok::Comma;
    case ':': return Tok::Colon;
    case '=': return Tok::Equal;
    case '+': return Tok::Plus;
    case '-': return Tok::Minus;
    case '*': return Tok::Star;
    case '/': return Tok::Slash;
    case '@': return Tok::At;
    default: return Tok::Eof;
  }
}

// Length of a valid UTF-8 sequence at s[i], else 0.
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size() || c == 0xC0 || c == 0xC1) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}

// Shows bytes in a message: printable ASCII and valid UTF-8 as is, anything else as \xNN.
std::string escape(std::string_view s, std::size_t maxChars = 8) {
  std::string out;
  std::size_t chars = 0;
  for (std::size_t i = 0; i < s.size(); ++chars) {
    if (chars == maxChars) return out + "...";
    const auto c = static_cast<unsigned char>(s[i]);
    if (std::size_t n = c >= 0x80 ? utf8Length(s, i) : 0; n > 0) {
      out.append(s.substr(i, n));
      i += n;
      continue;
    }
    if (c == '\'' || c == '\\') out += fmt::format("\\{}", static_cast<char>(c));
    else if (c >= 0x20 && c < 0x7F) out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
    ++i;
  }
  return out;
}

// U+XXXX of a valid UTF-8 sequence.
unsigned codePoint(std::string_view s) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(s[k])); };
  if (s.size() == 2) return (b(0) & 0x1F) << 6 | (b(1) & 0x3F);
  if (s.size() == 3) return (b(0) & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
  return (b(0) & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F);
}

class Lexer {
 public:
  Lexer(const SourceFile& file, Reporter& r) : s_(file.text()), r_(r) {}

  std::vector<Token> run() {
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (endsLine(s_, i_)) newline();
      else if (isSpace(c)) advance(1);
      else if (c == '#') skipComment();
      else if (isDigit(c) || (c == '.' && i_ + 1 < s_.size() && isDigit(s_[i_ + 1]))) number();
      else if (isIdentStart(c)) identifier();
      else if (c == '*' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') emit(Tok::Power, 2);
      else if (c == '.' && i_ + 1 < s_.size() && s_[i_ + 1] == '.') emit(Tok::DotDot, 2);
      else if (c == '.') emit(Tok::Dot, 1);
      else if (Tok cmp = comparison(); cmp != Tok::Eof) emit(cmp, tokLength(cmp));
      else if (c == '"') string();
      else if (Tok p = punctuation(c); p != Tok::Eof) emit(p, 1);
      else unknownCharacters();
    }
    out_.push_back({Tok::Eof, {line_, col_}, {}});
    return std::move(out_);
  }

 private:
  // < <= > >= == != at the current position, else Tok::Eof (a lone '=' is punctuation: assignment).
  Tok comparison() const {
    const char c = s_[i_];
    const bool eq = i_ + 1 < s_.size() && s_[i_ + 1] == '=';
    if (c == '<') return eq ? Tok::LessEqual : Tok::Less;
    if (c == '>') return eq ? Tok::GreaterEqual : Tok::Greater;
    if (c == '=' && eq) return Tok::EqualEqual;
    if (c == '!' && eq) return Tok::NotEqual;
    return Tok::Eof;
  }
  static std::size_t tokLength(Tok k) { return k == Tok::Less || k == Tok::Greater ? 1 : 2; }

  void advance(std::size_t n) {
    i_ += n;
    col_ += static_cast<int>(n);
  }

  void emit(Tok kind, std::size_t n) {
    out_.push_back({kind, {line_, col_}, s_.substr(i_, n)});
    advance(n);
  }

  void newline() {
    // Blank lines and comment lines carry no meaning: one Newline token ends a statement.
    if (!out_.empty() && !out_.back().is(Tok::Newline)) out_.push_back({Tok::Newline, {line_, col_}, s_.substr(i_, 1)});
    ++i_;
    ++line_;
    col_ = 1;
  }

  void skipComment() {
    advance(lineEnd(s_, i_) - i_);
  }

  std::size_t scanWhile(std::size_t j, bool (*pred)(char)) const {
    while (j < s_.size() && pred(s_[j])) ++j;
    return j;
  }

  // number = digit { digit } [ "." { digit } ] [ ("e" | "E") [ "+" | "-" ] digit { digit } ]
  void number() {
    const std::size_t start = i_;
    std::size_t j = scanWhile(i_, isDigit);
    // "0..28" is a range: the dots are not a fraction.
    if (j < s_.size() && s_[j] == '.' && !dotDot(j)) j = scanWhile(j + 1, isDigit);
    if (j < s_.size() && (s_[j] == 'e' || s_[j] == 'E')) {
      std::size_t k = j + 1;
      if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
      if (k < s_.size() && isDigit(s_[k])) j = scanWhile(k, isDigit);
    }
    // Letters, digits or dots glued to a number ("784x", "1e", "1.2.3") make one malformed token.
    std::size_t bad = j;
    while (bad < s_.size() && (isIdentChar(s_[bad]) || (s_[bad] == '.' && !dotDot(bad)))) ++bad;
    const std::string_view text = s_.substr(start, bad - start);
    if (bad != j || s_[start] == '.') {
      const Range range{{line_, col_}, {line_, col_ + static_cast<int>(text.size())}};
      if (s_[start] == '.' && bad == j)
        r_.error(range, fmt::format("a number must start with a digit: write '0{}'", text));
      else r_.error(range, fmt::format("malformed number '{}'", escape(text, 32)));
      emit(Tok::Error, text.size());
      return;
    }
    emit(Tok::Number, text.size());
  }

  bool dotDot(std::size_t j) const { return j + 1 < s_.size() && s_[j] == '.' && s_[j + 1] == '.'; }

  // string = '"' { any byte but '"' and a line break } '"'     (no escapes: strings only name files)
  void string() {
    std::size_t j = i_ + 1;
    while (j < s_.size() && s_[j] != '"' && !endsLine(s_, j)) ++j;
    if (j == s_.size() || s_[j] != '"') {
      const Range range{{line_, col_}, {line_, col_ + 1}};
      r_.error(range, "unterminated string: a string ends with '\"' on the same line");
      emit(Tok::Error, j - i_);
      return;
    }
    emit(Tok::String, j + 1 - i_);
  }

  void identifier() {
    const std::size_t end = scanWhile(i_, isIdentChar);
    emit(keywordOrIdent(s_.substr(i_, end - i_)), end - i_);
  }

  // A character that starts no token. A run of them is one error, so binary garbage stays readable.
  bool startsNothing(std::size_t j) const {
    const char c = s_[j];
    return !(endsLine(s_, j) || isSpace(c) || c == '#' || isDigit(c) || isIdentStart(c) || c == '.' || c == '"' ||
             punctuation(c) != Tok::Eof);
  }

  void unknownCharacters() {
    std::size_t j = i_;
    int chars = 0;
    while (j < s_.size() && startsNothing(j)) {
      j += std::max<std::size_t>(1, utf8Length(s_, j));
      ++chars;
    }
    const std::string_view text = s_.substr(i_, j - i_);
    const Range range{{line_, col_}, {line_, col_ + static_cast<int>(text.size())}};
    if (chars > 1) {
      r_.error(range, fmt::format("unknown characters '{}'", escape(text)));
    } else {
      std::string hint;
      if (text.size() > 1) hint = fmt::format(" (U+{:04X})", codePoint(text));
      if (text == ";") hint += "; statements end at a line break";
      r_.error(range, fmt::format("unknown character '{}'{}", escape(text), hint));
    }
    emit(Tok::Error, text.size());
  }

  std::string_view s_;
  Reporter& r_;
  std::size_t i_ = 0;
  int line_ = 1, col_ = 1;
  std::vector<Token> out_;
};

}  // namespace

std::vector<Token> lex(const SourceFile& file, Reporter& r) { return Lexer(file, r).run(); }

}  // namespace sinter::frontend
