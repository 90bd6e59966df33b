// The train block's param groups: `group NAME("pattern", ..., setting = value, ...)`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/module.h"
#include "frontend/ast.h"
#include "frontend/reporter.h"

namespace sinter::frontend {

// Whether param name `name` matches `pattern`: '*' stands for any run of characters (dots too), '?' for
// one character, anything else for itself.
bool matchesPattern(std::string_view pattern, std::string_view name);

// Checks every `group` setting of t against the optimizer `optimizer` (a name from the optimizer table, or
// an unknown one whose error is already reported) and the model's params (not matched when null), and
// appends the groups to cfg.groups, each with cfg's values and its overrides. Reports a group named twice,
// one without patterns or without settings, a pattern that matches no param, a param that two groups
// claim, and a setting the optimizer does not have, set twice or out of range.
void checkParamGroups(const ast::TrainBlock& t, std::string_view optimizer, const std::vector<std::string>* params,
                      ir::TrainConfig& cfg, Reporter& r);

}  // namespace sinter::frontend
