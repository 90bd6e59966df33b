// Loops over sequences: `for x_t in x along 1 { h = cell(x_t, h) }` stays a loop. Its body is elaborated once,
// into a graph of its own, and becomes the body of `scan` nodes (docs/ir.md, "Loops"): the names the body
// assigns that were defined before the loop are carried from step to step, each sequence gives one slice per
// step, the outer values the body reads are its closures, and `stack NAME = value` stacks a value of every step.
// After the loop the carried names hold their value after the last step and each stacked name its stack;
// the other names of the body are gone.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "compiler/ir/scan.h"
#include "frontend/elaborator.h"

namespace sinter::frontend {
namespace {

// A name that a statement of the loop's body binds, with where.
struct Assigned {
  std::string name;
  Range at;
  const ast::Decl* decl;
};

// Every name the statements bind (nested blocks included), in order, each once; stacked names are listed
// apart, since they are the loop's results rather than names of its steps.
void assignedNames(const std::vector<ast::Decl>& body, std::vector<Assigned>& names, std::vector<Assigned>& stacked) {
  auto add = [](std::vector<Assigned>& to, const std::string& name, Range at, const ast::Decl& d) {
    for (const Assigned& a : to)
      if (a.name == name) return;
    to.push_back({name, at, &d});
  };
  for (const ast::Decl& d : body) {
    if (d.kind == ast::Decl::For || d.kind == ast::Decl::If || d.kind == ast::Decl::Scan) {
      assignedNames(d.body, names, stacked);
      assignedNames(d.otherwise, names, stacked);
    } else if (d.kind == ast::Decl::Stack) {
      add(stacked, d.name, d.nameRange, d);
    } else if (d.kind == ast::Decl::Let && d.targets.empty()) {
      add(names, d.name, d.nameRange, d);
    } else if (d.kind == ast::Decl::Let) {
      for (const ast::Decl::Target& t : d.targets) add(names, t.name, t.range, d);
    }
  }
}

std::string sequenceHint(const Value& v) {
  if (v.kind == Value::Number) return "; a loop over numbers is written 'for t in 0..N'";
  if (v.kind == Value::Tuple) return "; to run over a tuple's elements, loop over their positions: 'for i in 0..N'";
  return "";
}

}  // namespace

struct Elaborator::ScanHeader {
  std::vector<Value> seqs;
  std::int64_t axis = 0;
};

// The sequences and the axis: tensors that all have that axis, of one length (the trip count).
std::optional<Elaborator::ScanHeader> Elaborator::scanHeader(Frame& f, const ast::Decl& d) {
  Reporter& r = *f.r;
  ScanHeader h;
  bool ok = true;
  for (const ast::ExprPtr& e : d.seqs) {
    Value v = eval(f, *e);
    if (v.ok() && !v.isTensor()) {
      r.error(e->range, fmt::format("a loop over sequences steps along an axis of tensors, but this is {}{}",
                                    v.describe(), sequenceHint(v)));
      v = Value::error();
    }
    ok = ok && v.ok();
    h.seqs.push_back(std::move(v));
  }
  if (d.axis) {
    const Value a = eval(f, *d.axis);
    if (a.ok() && (a.kind != Value::Number || !a.isInt || std::abs(a.num) > 64)) {
      r.error(
          d.axis->range,
          fmt::format("the axis after 'along' must be an integer known at compile time, but it is {}", a.describe()));
      ok = false;
    }
    ok = ok && a.ok();
    if (ok) h.axis = static_cast<std::int64_t>(a.num);
  }
  if (!ok) return std::nullopt;
  const auto rank0 = static_cast<std::int64_t>(h.seqs[0].type.shape.size());
  const std::int64_t axis = h.axis < 0 ? h.axis + rank0 : h.axis;
  for (std::size_t i = 0; i < h.seqs.size(); ++i) {
    const ir::TensorType& t = h.seqs[i].type;
    if (axis < 0 || axis >= static_cast<std::int64_t>(t.shape.size())) {
      r.error(d.seqs[i]->range,
              fmt::format("a loop along axis {} needs sequences with that axis, but this is {}", h.axis, t.str()));
      return std::nullopt;
    }
    const ir::Dim& steps = t.shape[static_cast<std::size_t>(axis)];
    const ir::Dim& trip = h.seqs[0].type.shape[static_cast<std::size_t>(axis)];
    if (!(steps == trip)) {
      r.error(d.seqs[i]->range,
              fmt::format("the sequences of a loop must have one length, but this one is {}, {} steps along axis {}, "
                          "and the first is {}, {} steps",
                          t.str(), steps.str(), axis, h.seqs[0].type.str(), trip.str()),
              {d.seqs[0]->range});
      return std::nullopt;
    }
  }
  h.axis = axis;
  return h;
}

// The names the body assigns that were defined before the loop: tensors, carried from step to step.
std::vector<std::string> Elaborator::carriedNames(Frame& f, const ast::Decl& d, bool& ok) {
  std::vector<Assigned> names, stacked;
  assignedNames(d.body, names, stacked);
  std::vector<std::string> out;
  for (const Assigned& a : names) {
    const Binding* b = f.env->findLocal(a.name);
    if (!b || b->fixed) continue;  // a name of the step; or an input or param, which assign() reports
    if (!b->value.ok()) {
      ok = false;
      continue;
    }
    if (!b->value.isTensor()) {
      f.r->error(a.at, fmt::format("{} is carried from one step of the loop to the next, so it must be a tensor, "
                                   "but before the loop it is {}",
                                   quoted(a.name), b->value.describe()));
      f.r->note(b->range, fmt::format("{} is defined here", quoted(a.name)));
      ok = false;
      continue;
    }
    out.push_back(a.name);
  }
  return out;
}

// After an error in a loop: every name the loop would define is an error value, so that its uses are silent.
void Elaborator::scanFailed(Frame& f, const ast::Decl& d, const std::vector<std::string>& carries) {
  std::vector<Assigned> names, stacked;
  assignedNames(d.body, names, stacked);
  for (const std::string& c : carries) {
    Binding b = *f.env->findLocal(c);
    b.value = Value::error();
    f.env->set(c, std::move(b));
  }
  for (const std::vector<Assigned>* list : {&names, &stacked})
    for (const Assigned& a : *list)
      if (!f.env->find(a.name)) f.env->set(a.name, {Value::error(), a.decl, a.at, f.file, false});
}

ir::NodeId Elaborator::addScanNode(Frame& f, const ast::Decl& d, const std::shared_ptr<const ir::Graph>& body,
                                   const std::vector<ir::NodeId>& operands, ir::Attrs attrs, const std::string& name) {
  ir::Node n;
  n.op = ir::Op::Scan;
  n.operands = operands;
  n.attrs = std::move(attrs);
  n.loc = f.file->loc(d.keywordRange.begin);
  n.name = name;
  n.body = body;
  try {
    return graph().add(std::move(n));
  } catch (const std::logic_error& e) {
    f.r->error(d.keywordRange,
               fmt::format("internal compiler error: the IR rejects this {}: {}", ir::opName(ir::Op::Scan), e.what()));
    return -1;
  }
}

// One result of the body being built (the innermost level): a value of it, or of an outer graph (a closure).
bool Elaborator::bodyResult(Frame& f, const ast::Decl& d, ir::Graph& body, const std::string& name, ir::NodeId value) {
  const std::optional<ir::NodeId> local = localAt(value, level());
  if (!local) {
    f.r->error(d.keywordRange,
               fmt::format("internal compiler error: {}", "a loop's result is a value of a loop inside"));
    return false;
  }
  body.results.push_back({name, *local, ir::Result::Output});
  return true;
}

// A loop being built: its header, carried names and body.
struct Elaborator::ScanBuild {
  ScanHeader header;
  std::vector<std::string> carries;
  std::vector<Binding> before;  // the carries' bindings before the loop
  std::shared_ptr<ir::Graph> body;
  std::unique_ptr<Env> env;          // the body's names: carries, step names, values of the step
  std::vector<ir::NodeId> operands;  // the scan's carries and sequences, level ids one level out
  LoopStacks stacks;
};

bool Elaborator::checkStepNames(Frame& f, const ast::Decl& d) {
  bool ok = true;
  for (std::size_t i = 0; i < d.targets.size(); ++i) {
    const ast::Decl::Target& t = d.targets[i];
    const bool twice = std::any_of(d.targets.begin(), d.targets.begin() + static_cast<std::ptrdiff_t>(i),
                                   [&](const ast::Decl::Target& u) { return u.name == t.name; });
    if (twice || f.env->findLocal(t.name) || globals_.findLocal(t.name)) {
      f.r->error(t.range, fmt::format("step name {} hides another name; choose another name", quoted(t.name)));
      ok = false;
    }
  }
  return ok;
}

// A new level: the body graph with an input per carry and per sequence, and the names the body starts with.
void Elaborator::openBody(Frame& f, const ast::Decl& d, ScanBuild& b, const std::string& prefix) {
  b.body = std::make_shared<ir::Graph>();
  b.body->name = fmt::format("{}loop{}", prefix, ++loopBodies_);
  levels_.push_back({b.body.get(), {}, {}, {}});
  const std::size_t inner = level();
  b.env = std::make_unique<Env>(f.env);
  for (const std::string& c : b.carries) {
    b.before.push_back(*f.env->findLocal(c));
    const Binding& was = b.before.back();
    const ir::NodeId in =
        addBodyInput(*b.body, levels_.back().inputNames, c, was.value.type, f.file->loc(d.keywordRange.begin));
    b.env->set(c, {Value::tensor(was.value.type, levelId(inner, in)), was.decl, was.range, f.file, false});
    b.operands.push_back(was.value.node);
  }
  for (std::size_t i = 0; i < b.header.seqs.size(); ++i) {
    const ast::Decl::Target& t = d.targets[i];
    const ir::TensorType step = ir::stepType(b.header.seqs[i].type, static_cast<std::size_t>(b.header.axis));
    const ir::NodeId in = addBodyInput(*b.body, levels_.back().inputNames, t.name, step, f.file->loc(t.range.begin));
    b.env->set(t.name, {Value::tensor(step, levelId(inner, in)), nullptr, t.range, f.file, true});
    b.operands.push_back(b.header.seqs[i].node);
  }
  b.stacks.axis = b.header.axis;
}

// The body's results, the carries' next values then the stacked values; closes the level. False after an error.
bool Elaborator::closeBody(Frame& f, const ast::Decl& d, ScanBuild& b, bool ok) {
  for (std::size_t i = 0; ok && i < b.carries.size(); ++i) {
    const Binding& next = *b.env->findLocal(b.carries[i]);
    const Value& init = b.before[i].value;
    if (!next.value.ok()) {
      ok = false;
    } else if (!next.value.isTensor() || !(next.value.type == init.type)) {
      f.r->error(next.range, fmt::format("{} is carried from one step of the loop to the next: it enters the loop as "
                                         "{} but a step leaves it {}",
                                         quoted(b.carries[i]), init.type.str(), next.value.describe()));
      f.r->note(b.before[i].range, fmt::format("{} is defined here", quoted(b.carries[i])));
      ok = false;
    } else {
      ok = bodyResult(f, d, *b.body, b.carries[i], next.value.node);
    }
  }
  for (const StackedValue& s : b.stacks.values) ok = ok && bodyResult(f, d, *b.body, s.name, s.node);
  b.operands.insert(b.operands.end(), levels_.back().closures.begin(), levels_.back().closures.end());
  levels_.pop_back();
  if (!ok) return false;
  // The body's arguments first, as in the model's graph.
  std::vector<ir::NodeId> order(b.body->inputs.begin(), b.body->inputs.end());
  for (const ir::Node& n : b.body->nodes)
    if (n.op != ir::Op::Input) order.push_back(n.id);
  ir::reorderNodes(*b.body, order);
  return true;
}

// One scan node per result, sharing the body; binds the carried and stacked names to them.
void Elaborator::emitScan(Frame& f, const ast::Decl& d, ScanBuild& b, const std::string& prefix) {
  const auto local = localOperands(f, b.operands, d.keywordRange);
  if (!local) return;
  const ir::ScanShape shape{b.header.axis, static_cast<std::int64_t>(b.carries.size()),
                            static_cast<std::int64_t>(b.header.seqs.size()), 0, d.reverse};
  const std::shared_ptr<const ir::Graph> shared = b.body;
  for (std::size_t k = 0; k < b.body->results.size(); ++k) {
    const ir::NodeId id = addScanNode(f, d, shared, *local, shape.attrsFor(static_cast<std::int64_t>(k)),
                                      prefix + b.body->results[k].name);
    if (id < 0) return;
    const Value v = Value::tensor(graph().node(id).type, levelId(level(), id));
    if (k < b.carries.size()) {
      Binding was = b.before[k];
      was.value = v;
      f.env->set(b.carries[k], std::move(was));
    } else {
      const StackedValue& s = b.stacks.values[k - b.carries.size()];
      bind(f, *s.decl, s.name, s.decl->nameRange, v, false);
    }
  }
}

// for x_t, m_t in x, m along 1 reverse { body }
void Elaborator::scanLoop(Frame& f, const ast::Decl& d) {
  bool ok = checkStepNames(f, d);
  std::optional<ScanHeader> header = scanHeader(f, d);
  ScanBuild b;
  b.carries = carriedNames(f, d, ok);
  if (!ok || !header || graph().nodes.size() >= kMaxNodes) {
    scanFailed(f, d, b.carries);
    return;
  }
  b.header = std::move(*header);
  const std::string prefix = f.self && f.kind == Frame::Def ? f.self->path + "." : std::string();
  openBody(f, d, b, prefix);
  Env* outerEnv = f.env;
  LoopStacks* outerStacks = f.stacks;
  f.env = b.env.get();
  f.stacks = &b.stacks;
  ++f.loops;
  const int errorsBefore = f.r->errorReports();
  statements(f, d.body);
  --f.loops;
  f.env = outerEnv;
  f.stacks = outerStacks;
  if (!closeBody(f, d, b, f.r->errorReports() == errorsBefore && !aborted_)) {
    scanFailed(f, d, b.carries);
    return;
  }
  emitScan(f, d, b, prefix);
  // The step's own names end with the loop; a use after it gets an error that says so.
  for (const std::string& name : b.env->order())
    if (!std::count(b.carries.begin(), b.carries.end(), name)) f.stepValues[name] = d.keywordRange;
}

// stack NAME = value: in a loop over sequences, NAME is after the loop the value of every step, stacked along the
// loop's axis.
void Elaborator::stackStatement(Frame& f, const ast::Decl& d) {
  Reporter& r = *f.r;
  if (!f.stacks) {
    r.error(d.keywordRange, fmt::format("'stack' collects a value of every step of a loop over sequences ('for x_t "
                                        "in x along 1 {{ ... }}') and belongs in its body{}",
                                        f.loops ? "; a loop over a range builds a tuple, hs = hs + (h,), and "
                                                  "stack(hs) after it"
                                                : ""));
    return;
  }
  Value v = eval(f, *d.value);
  if (v.kind == Value::Number) v = asTensor(f, v, ir::DType::F32, d.value->range);
  if (!v.ok()) return;
  if (!v.isTensor()) {
    r.error(d.value->range, fmt::format("a stacked value must be a tensor, but it is {}", v.describe()));
    return;
  }
  for (const StackedValue& s : f.stacks->values)
    if (s.name == d.name) {
      r.error(d.nameRange, fmt::format("{} is stacked twice in one step of the loop", quoted(d.name)));
      r.note(s.decl->nameRange, "the first is here");
      return;
    }
  if (const Binding* b = f.env->findLocal(d.name)) {
    r.error(d.nameRange, fmt::format("{} already names a value of the loop; a stacked value needs a name of its own",
                                     quoted(d.name)));
    r.note(b->range, fmt::format("{} is defined here", quoted(d.name)));
    return;
  }
  if (f.stacks->axis > static_cast<std::int64_t>(v.type.shape.size())) {
    r.error(d.value->range, fmt::format("cannot stack {} along axis {}, the loop's: it has {} axes", v.type.str(),
                                        f.stacks->axis, v.type.shape.size()));
    return;
  }
  f.stacks->values.push_back({d.name, v.node, &d, f.file});
}

}  // namespace sinter::frontend
