// The graph pipeline as data: which passes run on a training step, in which order, and why.
#pragma once

#include <vector>

#include "compiler/passes/pass_manager.h"

namespace sinter::passes {

// Every pass, for listing and lookup.
const std::vector<Pass>& allPasses();

// The pipeline `sinter` runs after autodiff (docs/passes.md explains each entry).
const std::vector<PipelineEntry>& defaultPipeline();

}  // namespace sinter::passes
