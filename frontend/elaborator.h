// The elaborator: evaluates a checked-as-it-goes model at compile time and builds its forward graph.
// Loops unroll, layers instantiate (their params become graph params with dotted names), calls inline,
// and every operation is shape-checked before its node is added, so that the user reads an error about
// their text rather than an IR assertion. Internal to the frontend: elaborate.cpp (files, statements,
// layers), eval_expr.cpp (expressions, operators, indexing), functions.cpp (built-in functions).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "compiler/ir/module.h"
#include "frontend/ast.h"
#include "frontend/builtins.h"
#include "frontend/frontend.h"
#include "frontend/reporter.h"
#include "frontend/scope.h"
#include "frontend/value.h"

namespace sinter::frontend {

// Limits that keep absurd programs from exhausting memory or time.
inline constexpr std::int64_t kMaxLoopTrips = 100000;  // iterations of one loop
inline constexpr std::size_t kMaxNodes = 100000;       // nodes of the graph
inline constexpr int kMaxCallDepth = 64;               // nested calls of defs and layers
inline constexpr std::size_t kMaxTupleSize = 1024;     // values of a tuple built in a loop
inline constexpr int kMaxEvalDepth = 2048;             // nested expressions, across calls
inline constexpr std::int64_t kMaxSteps = 1000000;     // statements run, loops unrolled

// A tensor Value's node id names its graph too: the model's graph is level 0, the body of a loop over sequences
// being elaborated inside it level 1, and so on (loops nest). Ids of level k are k * kLevelStride + the id in
// that graph; kLevelStride is above kMaxNodes, and 64 nested blocks keep every id in an int.
inline constexpr ir::NodeId kLevelStride = 1 << 24;

// A value `stack NAME = expr` gives at each step of a loop over sequences: after the loop NAME is every step's
// value stacked along the loop's axis.
struct StackedValue {
  std::string name;
  ir::NodeId node;  // the step's value, in the body (a level id)
  const ast::Decl* decl;
  const SourceFile* file;
};
struct LoopStacks {
  std::int64_t axis = 0;
  std::vector<StackedValue> values;
};

// Where statements run.
struct Frame {
  enum Kind { Model, LayerBody, Def };
  Kind kind = Model;
  Env* env = nullptr;
  Reporter* r = nullptr;
  const SourceFile* file = nullptr;
  std::shared_ptr<Instance> self;  // LayerBody, and methods of a layer
  int loops = 0;                   // enclosing for loops
  int branches = 0;                // enclosing if and else blocks
  std::optional<Value> returned;   // Def: the value of 'return'
  const ast::Decl* current = nullptr;
  std::string assigning;  // the name the current statement binds: it names a layer instance made there
  // Every name the body binds, for "used before it is defined".
  std::map<std::string, const ast::Decl*, std::less<>> everyName;
  const ast::Expr* callSite = nullptr;  // Def: the call that entered it
  LoopStacks* stacks = nullptr;         // in the body of a loop over sequences: what 'stack' collects
  // Values of one step of a loop over sequences that ended: each name, and the loop's 'for', for the error
  // that a step value is used after its loop.
  std::map<std::string, Range, std::less<>> stepValues;
};

struct CallSite;
struct BuiltinSpec;

class Elaborator {
 public:
  // `training`: elaborate the train mode, where the name `training` is 1 and `update` statements give the
  // states their next values (State results); otherwise inference, where it is 0 and updates change nothing.
  Elaborator(ir::Graph& g, ModelSummary* summary, bool training = false)
      : g_(g), summary_(summary), training_(training) {
    levels_.push_back({&g_, {}, {}, {}});
  }

  // Registers a file's layers and defs (reporting duplicates) so that any file may use them.
  void define(ast::File& f, const SourceFile& file, Reporter& r);
  // foreign_layer.cpp: registers a layer made from a foreign model (`import "x.onnx" as Name`).
  void defineForeign(const std::string& name, const std::string& path, Range at,
                     std::shared_ptr<const ForeignLayer> model, const SourceFile& file, Reporter& r);
  // Elaborates the model into the graph; the returned Scope holds its top-level tensor values.
  void model(const ast::Model& m, const SourceFile& file, Reporter& r);
  const Scope& scope() const { return scope_; }
  // Whether the model read the name `training`: then its train mode is a graph of its own.
  bool readsTraining() const { return readsTraining_; }
  // After the train block is checked: results (outputs, then the loss) and the canonical node order.
  void finish(const std::optional<ir::TrainConfig>& train);

  // --- used by the built-in functions (functions.cpp) ---
  Value emit(Frame& f, ir::Op op, std::vector<ir::NodeId> operands, ir::Attrs attrs, Range at);
  Value emitTyped(Frame& f, ir::Op op, std::vector<ir::NodeId> operands, ir::TensorType type, ir::Attrs attrs,
                  Range at);
  Value constant(Frame& f, double v, ir::DType dtype, Range at);
  Value emitNode(Frame& f, ir::Op op, std::vector<ir::NodeId> operands, std::optional<ir::TensorType> type,
                 ir::Attrs attrs, Range at);
  // A number next to a tensor becomes a constant of the tensor's dtype; tensors pass through.
  Value asTensor(Frame& f, const Value& v, ir::DType dtype, Range at);
  // Elementwise binary operation with NumPy broadcasting (also used by maximum, minimum, ...).
  Value elementwise(Frame& f, ir::Op op, std::string_view verb, const Value& a, const Value& b, Range at,
                    const ast::Expr* lhs, const ast::Expr* rhs);
  // "note: 'b1' declared here as f32[128]" when an operand in a type error is a plain name.
  void noteDeclaration(Frame& f, const ast::Expr* operand);
  // The salt of the next dropout node: 1, 2, ... in elaboration order (see dropout in functions.cpp).
  std::int64_t nextDropoutSalt() { return ++dropoutSalts_; }

 private:
  // elaborate.cpp
  // Binds a layer's or def's name in every file's scope; a built-in's name or a name defined twice is an error.
  void defineGlobal(const std::string& name, Range at, std::string_view kind, Value v, const SourceFile& file,
                    Reporter& r);
  void statements(Frame& f, const std::vector<ast::Decl>& body);
  void statement(Frame& f, const ast::Decl& d);
  bool bind(Frame& f, const ast::Decl& d, const std::string& name, Range at, Value v, bool fixed);
  void assign(Frame& f, const ast::Decl& d);
  void forLoop(Frame& f, const ast::Decl& d);
  // scan_loop.cpp: a loop over sequences, elaborated once into the body of scan nodes.
  void scanLoop(Frame& f, const ast::Decl& d);
  void stackStatement(Frame& f, const ast::Decl& d);
  struct ScanHeader;
  std::optional<ScanHeader> scanHeader(Frame& f, const ast::Decl& d);
  std::vector<std::string> carriedNames(Frame& f, const ast::Decl& d, bool& ok);
  void scanFailed(Frame& f, const ast::Decl& d, const std::vector<std::string>& carries);
  bool bodyResult(Frame& f, const ast::Decl& d, ir::Graph& body, const std::string& name, ir::NodeId value);
  struct ScanBuild;
  bool checkStepNames(Frame& f, const ast::Decl& d);
  void openBody(Frame& f, const ast::Decl& d, ScanBuild& b, const std::string& prefix);
  bool closeBody(Frame& f, const ast::Decl& d, ScanBuild& b, bool ok);
  void emitScan(Frame& f, const ast::Decl& d, ScanBuild& b, const std::string& prefix);
  ir::NodeId addScanNode(Frame& f, const ast::Decl& d, const std::shared_ptr<const ir::Graph>& body,
                         const std::vector<ir::NodeId>& operands, ir::Attrs attrs, const std::string& name);
  // graph_levels.cpp: the graph being built and the ids of its nodes.
  struct Level {
    ir::Graph* graph;
    std::map<ir::NodeId, ir::NodeId> captured;  // an outer value's level id -> its closure input here
    std::vector<ir::NodeId> closures;           // the closures' operands, level ids one level out
    std::set<std::string> inputNames;
  };
  std::size_t level() const { return levels_.size() - 1; }
  ir::Graph& graph() { return *levels_.back().graph; }
  static ir::NodeId levelId(std::size_t level, ir::NodeId local) {
    return static_cast<ir::NodeId>(level) * kLevelStride + local;
  }
  const ir::Node& nodeOf(ir::NodeId id) const;
  // The node of a value at `level`: itself when it is that level's, else the body's input that brings it
  // in from an outer graph (a closure, made on first use). nullopt for a value of a loop that ended.
  std::optional<ir::NodeId> localAt(ir::NodeId id, std::size_t level);
  ir::NodeId addBodyInput(ir::Graph& body, std::set<std::string>& names, const std::string& name,
                          const ir::TensorType& t, ir::SourceLoc loc);
  // The first id that a node made from now on gets: naming uses it to tell new nodes from old ones.
  ir::NodeId nextId() { return levelId(level(), static_cast<ir::NodeId>(graph().nodes.size())); }
  // The node of a value when it was made at or after `mark` in the current graph, else nullptr.
  ir::Node* nodeSince(const Value& v, ir::NodeId mark);
  std::optional<std::vector<ir::NodeId>> localOperands(Frame& f, std::vector<ir::NodeId> operands, Range at);
  void ifStatement(Frame& f, const ast::Decl& d);
  void input(Frame& f, const ast::Decl& d);
  void param(Frame& f, const ast::Decl& d);
  void update(Frame& f, const ast::Decl& d);
  std::optional<ir::TensorType> resolveType(Frame& f, const ast::Decl& d, bool isParam);
  std::optional<ir::Dim> resolveDim(Frame& f, const ast::DimExpr& d, const ast::Decl& decl, bool isParam);
  ir::Init resolveInit(Frame& f, const std::optional<ast::CallExpr>& init);
  void collectNames(Frame& f, const std::vector<ast::Decl>& body);
  // foreign_layer.cpp: an instance of a foreign model's layer (its params copied under the instance's path,
  // starting from the file's values), and a call of it (its graph inlined, on the call's arguments).
  Value instantiateForeign(Frame& f, const ForeignKind& kind, const ast::Expr& call, std::vector<Value> args);
  Value callForeign(Frame& f, const std::shared_ptr<Instance>& inst, const ast::Expr& call, std::vector<Value> args);
  // A new instance made by `call` in `f`, its path ("fc1", "blocks.0", "dense_2") marked as used; the caller sets
  // its layer.
  std::shared_ptr<Instance> newInstance(Frame& f, const ast::Expr& call, const std::string& layerName);
  // Whether an instance may be made here (a model or a layer's body, not a def or a loop over sequences).
  bool mayInstantiate(Frame& f, const ast::Expr& call, const std::string& layerName);
  Value instantiate(Frame& f, const ast::Layer& layer, const ast::Expr& call, std::vector<Value> args);
  Value callFunction(Frame& f, const ast::Function& fn, const std::shared_ptr<Instance>& self, const ast::Expr& call,
                     std::vector<Value> args);
  // Binds evaluated arguments to a layer's or def's parameters (defaults evaluated in its own file).
  std::optional<std::vector<Value>> bindParams(Frame& f, const ast::Expr& call, std::string_view kind,
                                               std::string_view name, const std::vector<ast::ParamDecl>& params,
                                               const SourceFile* defFile, std::vector<Value> args);
  std::int64_t countParams(const Instance& inst, std::int64_t* bytes) const;
  void summarize(const Instance& inst);

  // eval_expr.cpp
 public:
  Value eval(Frame& f, const ast::Expr& e);

 private:
  Value evalName(Frame& f, const ast::Expr& e);
  Value evalBinary(Frame& f, const ast::Expr& e);
  Value evalNeg(Frame& f, const ast::Expr& e);
  Value evalCall(Frame& f, const ast::Expr& e);
  Value callBuiltin(Frame& f, const ast::Expr& e, const BuiltinSpec& spec, const std::vector<Value>& args);
  Value evalIndex(Frame& f, const ast::Expr& e);
  Value transposeLastTwo(Frame& f, const Value& x, const ast::Expr& e);
  std::optional<std::optional<std::int64_t>> indexPart(Frame& f, const ast::ExprPtr& p, std::string_view what);
  Value indexTuple(Frame& f, const ast::Expr& e, const Value& base);
  // The elements start, start + step, ... before end that an index item selects of one axis (a negative
  // step walks down; end -1 is before element 0); `drop` for an index, whose axis disappears; `whole` when
  // it selects the axis as it is.
  struct AxisRange {
    std::int64_t start, end, step;
    bool drop, whole;
  };
  std::optional<AxisRange> axisRange(Frame& f, const ast::Expr& e, std::size_t axis, const ir::TensorType& t);
  Value evalMember(Frame& f, const ast::Expr& e);
  Value numberOp(Frame& f, ast::BinaryOp op, const Value& a, const Value& b, const ast::Expr& e);
  Value matmul(Frame& f, const Value& a, const Value& b, const ast::Expr& e);

  friend struct CallSite;
  ir::Graph& g_;
  ModelSummary* summary_;
  Env globals_;
  std::map<const SourceFile*, Reporter*> reporters_;
  Scope scope_;
  std::unique_ptr<Env> modelEnv_;
  std::vector<std::pair<std::string, ir::NodeId>> outputs_;
  std::vector<std::shared_ptr<Instance>> instances_;       // made by the model, in order
  std::map<std::string, int, std::less<>> autoNames_;      // "dense" -> instances named dense_1, dense_2, ...
  std::map<std::string, int, std::less<>> loopInstances_;  // "blocks" -> instances blocks.0, ... made in loops
  std::set<std::string> usedPaths_;                        // every instance's path
  int callDepth_ = 0;
  int evalDepth_ = 0;
  std::int64_t steps_ = 0;
  bool aborted_ = false;  // a limit was hit: stop elaborating
  std::int64_t dropoutSalts_ = 0;
  const bool training_;
  bool readsTraining_ = false;
  // Train mode: each updated state's next value, and where the update is (for "updated twice").
  struct NextState {
    ir::NodeId value;
    Range at;
    Reporter* r;
  };
  std::map<ir::NodeId, NextState> nextState_;
  std::vector<Level> levels_;  // the model's graph, then the bodies being elaborated, innermost last
  std::vector<std::unique_ptr<ForeignKind>> foreignKinds_;  // the layers defineForeign registered
  int loopBodies_ = 0;         // bodies made, for their names
};

}  // namespace sinter::frontend
