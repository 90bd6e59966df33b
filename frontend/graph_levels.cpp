// The graphs being built: the model's, and the body of each loop over sequences being elaborated inside it. A
// value of an outer graph used in a body becomes one of the body's inputs (a closure of the loop) on first use.
#include <fmt/format.h>

#include <utility>

#include "frontend/elaborator.h"

namespace sinter::frontend {

const ir::Node& Elaborator::nodeOf(ir::NodeId id) const {
  return levels_.at(static_cast<std::size_t>(id / kLevelStride)).graph->node(id % kLevelStride);
}

ir::Node* Elaborator::nodeSince(const Value& v, ir::NodeId mark) {
  if (!v.isTensor() || v.node < mark || v.node / kLevelStride != static_cast<ir::NodeId>(level())) return nullptr;
  return &graph().node(v.node % kLevelStride);
}

ir::NodeId Elaborator::addBodyInput(ir::Graph& body, std::set<std::string>& names, const std::string& name,
                                    const ir::TensorType& t, ir::SourceLoc loc) {
  // Inputs need distinct names; the outer graph's unnamed nodes get their outer id.
  std::string unique = name;
  for (int k = 2; !names.insert(unique).second; ++k) unique = fmt::format("{}_{}", name, k);
  return body.addInput(unique, t, std::move(loc));
}

std::optional<ir::NodeId> Elaborator::localAt(ir::NodeId id, std::size_t lvl) {
  const auto from = static_cast<std::size_t>(id / kLevelStride);
  if (from == lvl) return id % kLevelStride;
  if (from > lvl || lvl == 0) return std::nullopt;
  Level& here = levels_[lvl];
  if (auto it = here.captured.find(id); it != here.captured.end()) return it->second;
  const std::optional<ir::NodeId> outer = localAt(id, lvl - 1);
  if (!outer) return std::nullopt;
  const ir::Node& src = nodeOf(id);
  const std::string name = src.name.empty() ? fmt::format("v{}", id % kLevelStride) : src.name;
  const ir::NodeId in = addBodyInput(*here.graph, here.inputNames, name, src.type, src.loc);
  here.closures.push_back(levelId(lvl - 1, *outer));
  here.captured.emplace(id, in);
  return in;
}

std::optional<std::vector<ir::NodeId>> Elaborator::localOperands(Frame& f, std::vector<ir::NodeId> operands, Range at) {
  for (ir::NodeId& id : operands) {
    const std::optional<ir::NodeId> local = localAt(id, level());
    if (!local) {
      // Names of a step are gone after their loop, so no value of it should get here.
      f.r->error(at, fmt::format("internal compiler error: {}", "a value of a loop's step is used outside the loop"));
      return std::nullopt;
    }
    id = *local;
  }
  return operands;
}

}  // namespace sinter::frontend
