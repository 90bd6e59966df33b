// The syntax tree of a model file. Sema annotates it (types, initializers); to_graph reads it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "frontend/source.h"

namespace sinter::frontend::ast {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// A call argument: positional when `keyword` is empty.
struct Arg {
  std::string keyword;
  Range keywordRange;
  ExprPtr value;
};

enum class BinaryOp : std::uint8_t { Add, Mul, MatMul };
std::string_view spelling(BinaryOp op);  // "+", "*", "@"

struct Expr {
  enum Kind : std::uint8_t { Number, Name, Binary, Call };
  Kind kind = Number;
  Range range;            // the whole expression
  Range opRange;          // the operator (Binary), the callee's name (Call), else the token itself
  std::string text;       // Name: the name; Call: the callee; Number: its spelling ("-1e-3")
  double number = 0;      // Number
  BinaryOp op{};          // Binary
  ExprPtr lhs, rhs;       // Binary
  std::vector<Arg> args;  // Call; sema reorders them into the callee's parameter order
  int height = 1;         // levels of the tree below and including this node: bounds recursion

  // Set by sema: the value's type, or nullopt when the expression is in error (already reported).
  std::optional<ir::TensorType> type;
};

// A dimension as written: a name (symbolic) or a possibly negative integer spelling.
struct DimExpr {
  Range range;
  bool symbolic = false;
  std::string text;
};

struct TypeExpr {
  Range range;
  std::string dtype;
  Range dtypeRange;
  std::vector<DimExpr> dims;
};

// `name` or `name(args)`: an initializer or an optimizer.
struct CallExpr {
  std::string name;
  Range nameRange;
  Range range;
  bool hasParens = false;
  std::vector<Arg> args;
};

struct Decl {
  enum Kind : std::uint8_t { Input, Param, Let, Output };
  Kind kind = Let;
  Range keywordRange;  // 'input', 'param', 'output'; the name itself for a plain assignment
  std::string name;
  Range nameRange;
  TypeExpr type;                 // Input, Param
  std::optional<CallExpr> init;  // Param
  ExprPtr value;                 // Let, Output
  // A statement whose syntax was broken after its name: the name exists, its type is an error type,
  // so later uses report nothing more.
  bool broken = false;

  // Set by sema.
  std::optional<ir::TensorType> resolved;
  ir::Init initValue;
};

struct Model {
  Range keywordRange;
  std::string name;  // empty when the header was broken
  Range nameRange;
  std::vector<Decl> decls;
};

struct Setting {
  enum Kind : std::uint8_t { Minimize, Optimizer, Batch, Epochs, Seed };
  Kind kind = Minimize;
  Range keyRange;
  std::string value;  // Minimize: the value's name; Batch, Epochs, Seed: the number's spelling
  Range valueRange;
  CallExpr optimizer;  // Optimizer
  bool broken = false;
};

struct TrainBlock {
  Range keywordRange;
  std::string model;
  Range modelRange;
  std::vector<Setting> settings;
};

struct File {
  std::vector<Model> models;
  std::vector<TrainBlock> trains;
};

std::string_view settingName(Setting::Kind k);  // "minimize", "batch", ...

}  // namespace sinter::frontend::ast
