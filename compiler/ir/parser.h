// The parser of the Graph IR's textual form: it reads back exactly what ir::print writes, so that
// print(parse(print(g))) == print(g), and lets tests start from IR instead of from a model file.
// Op names, arities, attributes and carried types come from the op table; errors carry line:col.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/graph.h"

namespace sinter::ir {

// One error: "file:line:col: error: message", then the source line and a caret under the column.
struct ParseError {
  int line = 0, col = 0;
  std::string message;
  std::string str;  // the formatted form described above
};

// Parses every `graph @name(...) { ... }` in `text` (`//` starts a comment). `file` only names the
// source in messages. Returns the graphs when there are no errors; otherwise every error found, with
// recovery at the next line, and no graphs.
std::vector<Graph> parseGraphs(std::string_view text, std::string_view file, std::vector<ParseError>& errors);

// Exactly one graph; an error when the text holds none or several.
std::optional<Graph> parseGraph(std::string_view text, std::string_view file, std::vector<ParseError>& errors);

}  // namespace sinter::ir
