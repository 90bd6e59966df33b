// What an expression evaluates to while a model is elaborated: a compile-time number, a symbolic
// dimension, a tensor (a typed node of the graph being built), a tuple, a layer instance or something
// callable. The model language is evaluated at compile time: loops unroll, layers instantiate, and only
// tensors reach the graph.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"
#include "frontend/ast.h"
#include "frontend/frontend.h"
#include "frontend/source.h"

namespace sinter::frontend {

struct Instance;
struct BuiltinSpec;

// A layer made from a foreign model file (`import "backbone.onnx" as Backbone`): its name, file and model.
struct ForeignKind {
  std::string name;
  std::string file;  // as the import names it, for messages
  std::shared_ptr<const ForeignLayer> model;
};

struct Value {
  enum Kind : std::uint8_t { Error, Number, Dim, Tensor, Tuple, Instance, Callable };
  Kind kind = Error;  // Error: already reported; every use of it is silent
  double num = 0;     // Number
  bool isInt = false;
  ir::Dim dim;                               // Dim: a symbolic dimension, from dim(x, axis)
  ir::TensorType type;                       // Tensor
  ir::NodeId node = -1;                      // Tensor
  std::vector<Value> elems;                  // Tuple
  std::shared_ptr<frontend::Instance> inst;  // Instance; Callable: the method's instance
  // Callable: exactly one of these.
  const BuiltinSpec* builtin = nullptr;
  const ast::Function* function = nullptr;  // a def (a method when inst is set)
  const ast::Layer* layer = nullptr;        // a layer: calling it makes an instance
  const ForeignKind* foreign = nullptr;     // a layer made from a foreign model: the same

  static Value error() { return {}; }
  static Value number(double v, bool isInt) {
    Value x;
    x.kind = Number;
    x.num = v;
    x.isInt = isInt;
    return x;
  }
  static Value tensor(ir::TensorType t, ir::NodeId n) {
    Value x;
    x.kind = Tensor;
    x.type = std::move(t);
    x.node = n;
    return x;
  }
  static Value tuple(std::vector<Value> elems) {
    Value x;
    x.kind = Tuple;
    x.elems = std::move(elems);
    return x;
  }
  bool ok() const { return kind != Error; }
  bool isTensor() const { return kind == Tensor; }
  // For messages: "f32[batch,784]", "the number 3", "a tuple of 2 values", "layer instance 'fc1'".
  std::string describe() const;
};

// A name's binding in a scope.
struct Binding {
  Value value;
  const ast::Decl* decl = nullptr;  // the statement that bound it (nullptr for arguments)
  Range range;                      // where the name was bound, for notes
  const SourceFile* file = nullptr;
  bool fixed = false;  // inputs, params and loop variables cannot be assigned again
};

// Names in definition order, with a parent scope to fall back on.
class Env {
 public:
  explicit Env(const Env* parent = nullptr) : parent_(parent) {}
  const Binding* find(std::string_view name) const {
    auto it = vars_.find(name);
    if (it != vars_.end()) return &it->second;
    return parent_ ? parent_->find(name) : nullptr;
  }
  const Binding* findLocal(std::string_view name) const {
    auto it = vars_.find(name);
    return it == vars_.end() ? nullptr : &it->second;
  }
  void set(const std::string& name, Binding b) {
    auto [it, fresh] = vars_.insert_or_assign(name, std::move(b));
    if (fresh) order_.push_back(name);
  }
  void erase(const std::string& name) {
    vars_.erase(name);
    std::erase(order_, name);
  }
  const std::vector<std::string>& order() const { return order_; }
  // Every visible name, nearest scope first, for "did you mean".
  std::vector<std::string_view> names() const {
    std::vector<std::string_view> out(order_.rbegin(), order_.rend());
    if (parent_)
      for (std::string_view n : parent_->names()) out.push_back(n);
    return out;
  }
  const Env* parent() const { return parent_; }

 private:
  const Env* parent_;
  std::map<std::string, Binding, std::less<>> vars_;
  std::vector<std::string> order_;
};

// One instance of a layer: its params are graph nodes named after its dotted path ("encoder.fc1.w").
struct Instance {
  const ast::Layer* layer = nullptr;    // a layer of the language, or
  const ForeignKind* foreign = nullptr;  // one made from a foreign model: no body or methods, forward its graph
  const std::string& layerName() const { return layer ? layer->name : foreign->name; }
  std::string path;
  Range createdAt;
  const SourceFile* createdIn = nullptr;
  int depth = 0;  // 0 for instances made by the model
  std::unique_ptr<Env> members;
  std::vector<ir::NodeId> params;  // its own, in declaration order
  std::vector<std::shared_ptr<Instance>> children;
  int calls = 0;
  std::string output;  // type of the last call's result, for the summary; "multiple" when calls differ
};

}  // namespace sinter::frontend
