// Layers made from foreign model files (`import "backbone.onnx" as Backbone`, docs/onnx.md): an instance copies
// the model's params under its own path, starting from the file's values, and a call inlines the model's
// graph on the call's arguments, its symbolic dimensions bound to theirs.
#include <fmt/format.h>

#include <map>

#include "frontend/elaborator.h"

namespace sinter::frontend {
namespace {

// "(image: f32[batch,784])": the layer's inputs, for messages.
std::string signature(const ir::Graph& g) {
  std::string out = "(";
  for (std::size_t i = 0; i < g.inputs.size(); ++i) {
    const ir::Node& n = g.node(g.inputs[i]);
    out += fmt::format("{}{}: {}", i ? ", " : "", n.name, n.type.str());
  }
  return out + ")";
}

ir::TensorType substitute(ir::TensorType t, const std::map<std::string, ir::Dim>& symbols) {
  for (ir::Dim& d : t.shape)
    if (auto it = symbols.find(d.symbol); d.isSymbolic() && it != symbols.end()) d = it->second;
  return t;
}

}  // namespace

void Elaborator::defineForeign(const std::string& name, const std::string& path, Range at,
                               std::shared_ptr<const ForeignLayer> model, const SourceFile& file, Reporter& r) {
  foreignKinds_.push_back(std::make_unique<ForeignKind>(ForeignKind{name, path, std::move(model)}));
  Value v;
  v.kind = Value::Callable;
  v.foreign = foreignKinds_.back().get();
  defineGlobal(name, at, "layer", std::move(v), file, r);
}

Value Elaborator::instantiateForeign(Frame& f, const ForeignKind& kind, const ast::Expr& call, std::vector<Value> args) {
  if (!mayInstantiate(f, call, kind.name)) return Value::error();
  if (!bindParams(f, call, "layer", kind.name, {}, f.file, std::move(args))) return Value::error();
  std::shared_ptr<Instance> inst = newInstance(f, call, kind.name);
  inst->foreign = &kind;
  const ir::Graph& g = kind.model->graph;
  for (ir::NodeId p : g.params) {
    const ir::Node& n = g.node(p);
    const ir::NodeId id = g_.addParam(inst->path + "." + n.name, n.type, n.init, f.file->loc(call.range.begin));
    g_.node(id).state = n.state;
    if (!n.state) inst->params.push_back(id);
  }
  if (f.self) f.self->children.push_back(inst);
  else instances_.push_back(inst);
  Value v;
  v.kind = Value::Instance;
  v.inst = std::move(inst);
  return v;
}

Value Elaborator::callForeign(Frame& f, const std::shared_ptr<Instance>& inst, const ast::Expr& call,
                              std::vector<Value> args) {
  Reporter& r = *f.r;
  const ForeignKind& kind = *inst->foreign;
  const ir::Graph& g = kind.model->graph;
  const std::string what = fmt::format("instance {} of layer {} ({})", quoted(inst->path), quoted(kind.name),
                                       kind.file);
  for (const ast::Arg& a : call.args)
    if (!a.keyword.empty()) {
      r.error(a.value->range, fmt::format("{} takes its inputs by position, in the ONNX graph's order {}; remove "
                                          "'{} ='",
                                          what, signature(g), a.keyword));
      return Value::error();
    }
  if (args.size() != g.inputs.size()) {
    r.error(call.opRange, fmt::format("{} takes {} input{} {}, got {}", what, g.inputs.size(),
                                      g.inputs.size() == 1 ? "" : "s", signature(g), args.size()));
    return Value::error();
  }
  // Each symbolic dimension of the graph's inputs is bound to the argument's dimension where it first appears.
  std::map<std::string, ir::Dim> symbols;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const ir::Node& in = g.node(g.inputs[i]);
    const Value& a = args[i];
    std::string why;
    if (!a.isTensor()) {
      why = "it is not a tensor";
    } else if (a.type.dtype != in.type.dtype || a.type.shape.size() != in.type.shape.size()) {
      why = a.type.dtype != in.type.dtype ? "the dtypes differ" : "the ranks differ";
    } else {
      for (std::size_t k = 0; k < in.type.shape.size() && why.empty(); ++k) {
        const ir::Dim& want = in.type.shape[k];
        const ir::Dim& got = a.type.shape[k];
        if (!want.isSymbolic()) {
          if (!(got == want)) why = fmt::format("axis {} must be {}, but it is {}", k, want.str(), got.str());
        } else if (auto [it, fresh] = symbols.emplace(want.symbol, got); !fresh && !(it->second == got)) {
          why = fmt::format("axis {} is '{}', which is {} already, but it is {}", k, want.symbol, it->second.str(),
                            got.str());
        }
      }
    }
    if (!why.empty()) {
      r.error(call.args[i].value->range, fmt::format("input {} ('{}') of {} is {}, but the argument is {}: {}", i + 1,
                                                     in.name, what, in.type.str(), a.describe(), why));
      return Value::error();
    }
  }
  // The graph's nodes in order, on the arguments and the instance's params: values of the graph -> ids here.
  std::vector<ir::NodeId> here(g.nodes.size(), -1);
  for (std::size_t i = 0; i < args.size(); ++i) here[static_cast<std::size_t>(g.inputs[i])] = args[i].node;
  std::size_t param = 0;
  for (ir::NodeId p : g.params) here[static_cast<std::size_t>(p)] = inst->params.size() > param ? inst->params[param++] : -1;
  for (const ir::Node& n : g.nodes) {
    if (n.op == ir::Op::Input || n.op == ir::Op::Param) continue;
    Value v;
    if (n.op == ir::Op::Constant) {
      v = constant(f, n.scalar, n.type.dtype, call.range);
      if (v.ok() && !n.type.shape.empty()) {  // a constant of a shape (torch's zero initial state): the same node
        ir::Node& c = graph().node(v.node - levelId(level(), 0));
        c.type = substitute(n.type, symbols);
        v.type = c.type;
      }
    } else {
      std::vector<ir::NodeId> operands;
      for (ir::NodeId o : n.operands) operands.push_back(here[static_cast<std::size_t>(o)]);
      v = emitTyped(f, n.op, std::move(operands), substitute(n.type, symbols), n.attrs, call.range);
    }
    if (!v.ok()) return v;
    here[static_cast<std::size_t>(n.id)] = v.node;
  }
  std::vector<Value> results;
  for (const ir::Result& res : g.results) {
    const ir::NodeId id = here[static_cast<std::size_t>(res.node)];
    results.push_back(Value::tensor(nodeOf(id).type, id));
  }
  Value out = results.size() == 1 ? results.front() : Value::tuple(results);
  const std::string t = results.size() == 1 ? out.describe() : fmt::format("{} outputs", results.size());
  inst->output = ++inst->calls > 1 && inst->output != t ? "multiple" : t;
  return out;
}

}  // namespace sinter::frontend
