// The lexer: source text to tokens. Comments run from '#' to the end of the line.
#pragma once

#include <vector>

#include "frontend/reporter.h"
#include "frontend/token.h"

namespace sinter::frontend {

// Splits the file into tokens ending with Eof. Unknown characters, runs of them and malformed numbers
// are reported once each and become a Tok::Error token. Consecutive line breaks collapse into one
// Newline token.
std::vector<Token> lex(const SourceFile& file, Reporter& r);

}  // namespace sinter::frontend
