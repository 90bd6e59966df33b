// The pass manager: runs a pipeline (a list of passes, each once or to a fixed point) over a graph, and
// lets users watch it work: print after all or named passes, only when changed, stop after a pass,
// time passes, verify after each. The pipeline itself is data (pipeline.cpp).
#pragma once

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ir/graph.h"

namespace sinter::passes {

// A pass: a function over a graph that returns true when it changed it.
struct Pass {
  std::string_view name;  // as given to --print-after and --stop-after
  bool (*run)(ir::Graph&);
  std::string_view doc;  // one line
};

enum class Repeat { Once, UntilFixedPoint };

struct PipelineEntry {
  Pass pass;
  Repeat repeat;
  std::string_view why;  // why the pass is there, at this place
};

struct PassManagerOptions {
  bool printAfterAll = false;           // print the graph after every pass
  std::vector<std::string> printAfter;  // ... or after these passes
  bool printChanged = false;            // print only after passes that changed the graph
  std::string stopAfter;                // stop the pipeline after the first run of this pass
  bool timePasses = false;              // print a table of time spent per pass at the end
  bool verifyEach = false;              // run the verifier after every pass
};

// What happened to one pipeline entry.
struct PassRun {
  std::string name;
  int runs = 0;  // > 1 for fixed-point entries
  bool changed = false;
  std::size_t nodesBefore = 0, nodesAfter = 0;
  std::chrono::duration<double> time{};
};

// Runs `pipeline` on g, writing what the options ask for to `log`. Throws std::runtime_error
// for a pass name the pipeline does not contain (a user error), and std::logic_error when --verify-each finds a
// broken graph (a compiler bug).
std::vector<PassRun> runPipeline(ir::Graph& g, const std::vector<PipelineEntry>& pipeline,
                                 const PassManagerOptions& opts, std::ostream& log);

}  // namespace sinter::passes
