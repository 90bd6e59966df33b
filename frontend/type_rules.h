// The type rules of the language's operators, checked before the graph is built: the IR's own rules
// would only throw, while these explain the problem in the user's terms.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/types.h"

namespace sinter::frontend {

struct TypeCheck {
  std::optional<ir::TensorType> type;  // the result's type when the operation is valid
  std::string error;
  int culprit = -1;  // the operand the error is about; -1 for the operation as a whole

  static TypeCheck ok(ir::TensorType t) { return {std::move(t), {}, -1}; }
  static TypeCheck fail(std::string message, int culprit = -1) { return {std::nullopt, std::move(message), culprit}; }
};

using Types = std::vector<ir::TensorType>;

// a + b, a - b, a * b, a / b, a ** b, maximum(a, b), ...: NumPy broadcasting, equal dtypes. `verb` names
// the operation in messages ("add", "subtract").
TypeCheck checkElementwise(std::string_view verb, const ir::TensorType& a, const ir::TensorType& b);
// a @ b: [..., M, K] @ [..., K, N] -> [..., M, N], floating point; leading dimensions broadcast.
TypeCheck checkMatMul(const ir::TensorType& a, const ir::TensorType& b);

}  // namespace sinter::frontend
