// The syntax tree as indented text with locations, for `sinter dump --stage=ast`.
#pragma once

#include <string>

#include "frontend/ast.h"

namespace sinter::frontend {

// One line per node: its kind, its key fields and its <line:col>, children indented by two spaces:
//   Model FashionMLP <2:1>
//     Let h1 <9:3>
//       Call relu <9:8>
//         Binary '+' <9:24>
std::string printAst(const ast::File& file, const std::string& path);

}  // namespace sinter::frontend
