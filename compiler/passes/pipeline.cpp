#include "compiler/passes/pipeline.h"

#include "compiler/passes/cse.h"
#include "compiler/passes/dce.h"
#include "compiler/passes/fold_constants.h"
#include "compiler/passes/loop_bodies.h"
#include "compiler/passes/schedule.h"
#include "compiler/passes/simplify.h"

namespace sinter::passes {

namespace {
const Pass kSimplify{"simplify", simplifyAlgebra,
                     "algebraic identities, transpose/reshape chains, matmul of a transpose"};
const Pass kFold{"fold", foldConstants, "evaluates nodes whose operands are all constants"};
const Pass kCse{"cse", eliminateCommonSubexpressions, "merges nodes that compute the same value"};
const Pass kDce{"dce", eliminateDeadCode, "drops nodes no result depends on"};
const Pass kLoops{"loops", optimizeLoopBodies, "one body per loop, and this pipeline run inside every loop body"};
const Pass kSchedule{"schedule", scheduleForMemory, "orders nodes to lower peak live memory"};
}  // namespace

const std::vector<Pass>& allPasses() {
  static const std::vector<Pass> passes = {kSimplify, kFold, kLoops, kCse, kDce, kSchedule};
  return passes;
}

const std::vector<PipelineEntry>& defaultPipeline() {
  static const std::vector<PipelineEntry> pipeline = {
      {kSimplify, Repeat::UntilFixedPoint,
       "first, so that the gradient graph's x*1, x+0 and transposes do not hide constants and duplicates"},
      {kFold, Repeat::Once, "one sweep in topological order folds whole chains of constants"},
      {kSimplify, Repeat::UntilFixedPoint, "folding leaves new identities behind (x*1 with a folded 1)"},
      {kLoops, Repeat::Once,
       "before CSE: once the saving loops of a loop's several results hold one body, CSE merges them"},
      {kCse, Repeat::Once, "after simplification, when equal values are spelled the same way; one sweep suffices"},
      {kDce, Repeat::Once, "removes what the passes above replaced, and forward outputs a train step does not return"},
      {kSchedule, Repeat::Once, "last, on the final set of nodes: the memory planner allocates in this order"},
  };
  return pipeline;
}

}  // namespace sinter::passes
