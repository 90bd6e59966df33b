// Semantic checks: name resolution, types and shapes, initializers and the train block. Every error is
// reported (a bad value gets the error type, which silences its uses); the AST is annotated with the
// types and initializers that to_graph needs.
#pragma once

#include <optional>

#include "compiler/ir/module.h"
#include "frontend/ast.h"
#include "frontend/reporter.h"

namespace sinter::frontend {

struct CheckedFile {
  const ast::Model* model = nullptr;
  std::optional<ir::TrainConfig> train;
};

// nullopt when the file has no model; otherwise the caller decides by the error count.
std::optional<CheckedFile> check(ast::File& file, Reporter& r);

}  // namespace sinter::frontend
