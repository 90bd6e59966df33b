#include "frontend/token.h"

#include "frontend/reporter.h"

namespace sinter::frontend {

std::string_view tokName(Tok k) {
  switch (k) {
    case Tok::Eof: return "end of file";
    case Tok::Newline: return "end of line";
    case Tok::Error: return "invalid text";
    case Tok::Ident: return "a name";
    case Tok::Number: return "a number";
    case Tok::KwModel: return "'model'";
    case Tok::KwTrain: return "'train'";
    case Tok::KwInput: return "'input'";
    case Tok::KwParam: return "'param'";
    case Tok::KwOutput: return "'output'";
    case Tok::KwLayer: return "'layer'";
    case Tok::KwDef: return "'def'";
    case Tok::KwFor: return "'for'";
    case Tok::KwReturn: return "'return'";
    case Tok::KwImport: return "'import'";
    case Tok::KwIf: return "'if'";
    case Tok::KwElse: return "'else'";
    case Tok::String: return "a string";
    case Tok::LParen: return "'('";
    case Tok::RParen: return "')'";
    case Tok::LBracket: return "'['";
    case Tok::RBracket: return "']'";
    case Tok::LBrace: return "'{'";
    case Tok::RBrace: return "'}'";
    case Tok::Comma: return "','";
    case Tok::Colon: return "':'";
    case Tok::Equal: return "'='";
    case Tok::Plus: return "'+'";
    case Tok::Minus: return "'-'";
    case Tok::Star: return "'*'";
    case Tok::Slash: return "'/'";
    case Tok::Power: return "'**'";
    case Tok::At: return "'@'";
    case Tok::Dot: return "'.'";
    case Tok::DotDot: return "'..'";
    case Tok::Less: return "'<'";
    case Tok::LessEqual: return "'<='";
    case Tok::Greater: return "'>'";
    case Tok::GreaterEqual: return "'>='";
    case Tok::EqualEqual: return "'=='";
    case Tok::NotEqual: return "'!='";
  }
  return "?";
}

std::string describe(const Token& t) {
  if (t.kind == Tok::Ident) return quoted(t.text);
  if (t.kind == Tok::Number) return "number " + quoted(t.text);
  if (t.kind == Tok::String) return "string " + std::string(t.text.substr(0, 40)) + (t.text.size() > 40 ? "...\"" : "");
  return std::string(tokName(t.kind));
}

}  // namespace sinter::frontend
