#include "frontend/to_graph.h"

#include <map>
#include <stdexcept>

#include "frontend/builtins.h"

namespace sinter::frontend {
namespace {

class GraphBuilder {
 public:
  GraphBuilder(ir::Graph& g, const SourceFile& file) : g_(g), file_(file) {}

  void build(const ast::Model& m, const std::optional<ir::TrainConfig>& train) {
    g_.name = m.name;
    for (const ast::Decl& d : m.decls)
      if (d.kind == ast::Decl::Input) values_[d.name] = g_.addInput(d.name, *d.resolved, loc(d.nameRange));
    for (const ast::Decl& d : m.decls)
      if (d.kind == ast::Decl::Param) values_[d.name] = g_.addParam(d.name, *d.resolved, d.initValue, loc(d.nameRange));
    for (const ast::Decl& d : m.decls) {
      if (d.kind != ast::Decl::Let && d.kind != ast::Decl::Output) continue;
      const ir::NodeId id = emit(*d.value);
      // `y = x` only gives x another name: the node keeps its own.
      if (d.value->kind != ast::Expr::Name) g_.node(id).name = d.name;
      values_[d.name] = id;
    }
    const std::string loss = train ? train->loss : std::string();
    for (const ast::Decl& d : m.decls)
      if (d.kind == ast::Decl::Output && d.name != loss)
        g_.results.push_back({d.name, values_.at(d.name), ir::Result::Output});
    if (train) g_.results.push_back({loss, values_.at(loss), ir::Result::Loss});
  }

 private:
  ir::SourceLoc loc(Range r) const { return file_.loc(r.begin); }

  ir::NodeId emit(const ast::Expr& e) {
    switch (e.kind) {
      case ast::Expr::Number:
        return g_.addConstant(e.number, *e.type, loc(e.opRange));
      case ast::Expr::Name:
        return values_.at(e.text);
      case ast::Expr::Binary: {
        const ir::NodeId lhs = emit(*e.lhs);
        const ir::NodeId rhs = emit(*e.rhs);
        return g_.addOp(binaryOp(e.op), {lhs, rhs}, loc(e.opRange));
      }
      case ast::Expr::Call: {
        std::vector<ir::NodeId> operands;
        for (const ast::Arg& a : e.args) operands.push_back(emit(*a.value));
        return g_.addOp(callOp(e.text), std::move(operands), loc(e.opRange));
      }
    }
    throw std::logic_error("unknown expression kind");
  }

  static ir::Op binaryOp(ast::BinaryOp op) {
    switch (op) {
      case ast::BinaryOp::Add:
        return ir::Op::Add;
      case ast::BinaryOp::Mul:
        return ir::Op::Mul;
      case ast::BinaryOp::MatMul:
        return ir::Op::MatMul;
    }
    throw std::logic_error("unknown binary operator");
  }

  static ir::Op callOp(std::string_view name) {
    if (const FunctionSpec* f = findFunction(name)) return f->op;
    throw std::logic_error("unknown function reached the graph builder: " + std::string(name));
  }

  ir::Graph& g_;
  const SourceFile& file_;
  std::map<std::string, ir::NodeId, std::less<>> values_;
};

}  // namespace

ir::Module toGraph(const ast::Model& m, const std::optional<ir::TrainConfig>& train, const SourceFile& file) {
  ir::Module mod;
  mod.name = m.name;
  mod.train = train;
  GraphBuilder(mod.forward, file).build(m, train);
  return mod;
}

}  // namespace sinter::frontend
