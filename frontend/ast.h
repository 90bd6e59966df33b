// The syntax tree of a model file. The elaborator (elaborate.cpp) evaluates it into the graph; it is not annotated.
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

enum class BinaryOp : std::uint8_t {
  Add,
  Sub,
  Mul,
  Div,
  MatMul,
  Pow,
  Less,
  LessEqual,
  Greater,
  GreaterEqual,
  Equal,
  NotEqual
};
std::string_view spelling(BinaryOp op);  // "+", "-", "*", "/", "@", "**", "<", ...

// One item of x[...]: an index (`t`, `-1`) or a slice (`2:5`, `:`, `::2`).
struct IndexItem {
  Range range;
  bool isSlice = false;
  ExprPtr index;             // !isSlice
  ExprPtr start, end, step;  // isSlice: each optional
};

struct Expr {
  enum Kind : std::uint8_t { Number, Name, Binary, Neg, Call, Index, Tuple, Member };
  Kind kind = Number;
  Range range;                   // the whole expression
  Range opRange;                 // the operator (Binary, Neg), the callee's name (Call), '[' (Index), else the token
  std::string text;              // Name, Member: the name; Call: the callee when it is a plain name; Number: "-1e-3"
  double number = 0;             // Number
  bool integer = false;          // Number: written without fraction or exponent
  BinaryOp op{};                 // Binary
  ExprPtr lhs, rhs;              // Binary; Neg, Index, Member: lhs; Call: lhs is the callee when it is not a plain name
  std::vector<Arg> args;         // Call; Tuple: the elements (no keywords)
  std::vector<IndexItem> items;  // Index
  int height = 1;                // levels of the tree below and including this node: bounds recursion
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

// A statement of a model, layer or def body.
struct Decl {
  // State: `state NAME: type = init`; Update: `update NAME = expr` (state and update are keywords only there).
  // Scan: `for x_t, m_t in x, m along 1 reverse { ... }`, a loop over sequences that stays a loop (a scan);
  // Stack: `stack NAME = expr` in its body, every step's value stacked after it (stack: a keyword only there).
  enum Kind : std::uint8_t { Input, Param, Let, Output, For, Return, If, State, Update, Scan, Stack };
  Kind kind = Let;
  Range keywordRange;  // 'input', 'param', 'output', 'for', 'return', 'if', 'state', 'update', 'stack'; the name itself
                       // for an assignment
  std::string name;    // For: the loop variable; Return: empty
  Range nameRange;
  TypeExpr type;                 // Input, Param, State
  std::optional<CallExpr> init;  // Param, State
  ExprPtr value;                 // Let, Output, Return, Update, Stack; For: the range's start; If: the condition
  ExprPtr end;                   // For: the range's end (exclusive)
  std::vector<Decl> body;        // For, Scan; If: the statements when the condition holds
  std::vector<Decl> otherwise;   // If: the 'else' statements (an `else if` is one If statement here)
  // Let: `h, c = cell(x, h, c)` binds several names; `name` is the first of them.
  struct Target {
    std::string name;
    Range range;
  };
  std::vector<Target> targets;  // Let with more than one name: all of them, `name` included; Scan: the step names
  std::vector<ExprPtr> seqs;    // Scan: the sequences, one per step name
  ExprPtr axis;                 // Scan: the expression after 'along' (none: axis 0)
  bool reverse = false;         // Scan: 'reverse' runs the steps from last to first
  // A statement whose syntax was broken after its name: the name exists, its type is an error type,
  // so later uses report nothing more.
  bool broken = false;
};

// A parameter of a layer or def: `in`, `activation = 1`.
struct ParamDecl {
  std::string name;
  Range range;
  ExprPtr fallback;  // the default value, when given
};

// `def name(params) { body }`: a function of tensors, at file level or a layer's method.
struct Function {
  Range keywordRange;
  std::string name;
  Range nameRange;
  std::vector<ParamDecl> params;
  std::vector<Decl> body;
  const SourceFile* file = nullptr;  // set by the frontend: where its diagnostics point
};

// `layer Name(params) { params, instances; def forward(x) { ... } }`.
struct Layer {
  Range keywordRange;
  std::string name;
  Range nameRange;
  std::vector<ParamDecl> params;
  std::vector<Decl> body;         // param declarations and assignments, run once per instance
  std::vector<Function> methods;  // forward and others
  const SourceFile* file = nullptr;
};

struct Model {
  Range keywordRange;
  std::string name;  // empty when the header was broken
  Range nameRange;
  std::vector<Decl> decls;
};

struct Import {
  Range keywordRange;
  std::string path;  // without the quotes
  Range pathRange;
  std::string alias;  // `import "backbone.onnx" as Backbone`: the layer an ONNX model becomes; "" without `as`
  Range aliasRange;
};

struct Setting {
  enum Kind : std::uint8_t { Minimize, Optimizer, Batch, Epochs, Seed, Schedule, ClipNorm, Metrics, Group, Data };
  static constexpr int kNumKinds = 10;
  Kind kind = Minimize;
  Range keyRange;
  std::string value;   // Minimize: the value's name; Batch, Epochs, Seed, ClipNorm: the number's spelling;
                       // Group: its name
  Range valueRange;    // Metrics: the whole list, brackets included; Group: the name
  CallExpr optimizer;  // Optimizer; Schedule: the schedule call; Group: its overrides (keyword args)
  struct Name {
    std::string name;
    Range range;
  };
  std::vector<Name> names;   // Metrics: the list's names, in order; Group: its patterns, without the quotes
  struct Field {             // Data: `key = "text"` or `key = number`
    std::string key, value;  // the value without quotes, or the number's spelling
    Range keyRange, valueRange;
  };
  std::vector<Field> fields;  // Data: in order
  bool broken = false;
};

struct TrainBlock {
  Range keywordRange;
  std::string model;
  Range modelRange;
  std::vector<Setting> settings;
  bool broken = false;  // the header `train NAME {` was broken: a missing 'minimize' is not reported as well
};

struct File {
  std::vector<Import> imports;
  std::vector<Layer> layers;
  std::vector<Function> functions;
  std::vector<Model> models;
  std::vector<TrainBlock> trains;
};

std::string_view settingName(Setting::Kind k);  // "minimize", "batch", ...

}  // namespace sinter::frontend::ast
