#include "compiler/passes/loop_bodies.h"

#include <map>
#include <memory>
#include <sstream>

#include "compiler/ir/scan.h"
#include "compiler/passes/pass_manager.h"
#include "compiler/passes/pipeline.h"

namespace sinter::passes {
namespace {

// Every region node after `n` that is a result of n's loop gets the loop's biggest body.
bool shareBiggestBody(ir::Graph& g, const ir::Node& n) {
  std::vector<ir::NodeId> members;
  std::shared_ptr<const ir::Graph> body = n.body;
  for (std::size_t i = static_cast<std::size_t>(n.id); i < g.nodes.size(); ++i) {
    const ir::Node& m = g.nodes[i];
    if (!ir::sameSteps(n, m)) continue;
    if (ir::extendsBody(*body, *m.body)) {
      members.push_back(m.id);
    } else if (ir::extendsBody(*m.body, *body)) {
      members.push_back(m.id);
      body = m.body;
    }
  }
  bool changed = false;
  for (ir::NodeId id : members) {
    changed = changed || g.node(id).body != body;
    g.node(id).body = body;
  }
  return changed;
}

}  // namespace

bool optimizeLoopBodies(ir::Graph& g) {
  bool changed = false;
  for (const ir::Node& n : g.nodes)
    if (n.body) changed = shareBiggestBody(g, n) || changed;
  // Each distinct body once: the nodes of one loop keep sharing theirs.
  std::map<const ir::Graph*, std::shared_ptr<const ir::Graph>> optimized;
  for (ir::Node& n : g.nodes) {
    if (!n.body) continue;
    auto [at, fresh] = optimized.try_emplace(n.body.get());
    if (fresh) {
      ir::Graph body = *n.body;
      std::ostringstream quiet;
      for (const PassRun& r : runPipeline(body, defaultPipeline(), {}, quiet)) changed = changed || r.changed;
      at->second = std::make_shared<const ir::Graph>(std::move(body));
    }
    n.body = at->second;
  }
  return changed;
}

}  // namespace sinter::passes
