// The type rules of the language's operations, checked before the graph is built: the IR's own rules
// would only throw, while these explain the problem in the user's terms.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/types.h"
#include "frontend/ast.h"

namespace sinter::frontend {

struct TypeCheck {
  std::optional<ir::TensorType> type;  // the result's type when the operation is valid
  std::string error;
  int culprit = -1;  // the operand the error is about; -1 for the operation as a whole

  static TypeCheck ok(ir::TensorType t) { return {std::move(t), {}, -1}; }
  static TypeCheck fail(std::string message, int culprit = -1) { return {std::nullopt, std::move(message), culprit}; }
};

using Types = std::vector<ir::TensorType>;

// a + b, a * b: NumPy broadcasting, equal dtypes.
TypeCheck checkElementwise(ast::BinaryOp op, const ir::TensorType& a, const ir::TensorType& b);
// a @ b: [M,K] @ [K,N] -> [M,N], floating point.
TypeCheck checkMatMul(const ir::TensorType& a, const ir::TensorType& b);
// relu(x): any floating tensor.
TypeCheck checkRelu(const Types& args);
// softmax(x): a floating tensor of rank >= 1, normalized over its last axis.
TypeCheck checkSoftmax(const Types& args);
// cross_entropy(logits [N,C] floating, labels [N] i32) -> scalar of the logits' dtype.
TypeCheck checkCrossEntropy(const Types& args);

}  // namespace sinter::frontend
