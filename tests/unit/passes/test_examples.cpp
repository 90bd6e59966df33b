// The pipeline (compiler/driver) on the training step of every example model: the verifier accepts the graph
// after every pass, the reference interpreter computes the same loss and gradients, the text round-trips and
// the memory plan of the kernel program never overlaps live values.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "compiler/driver/compilation.h"
#include "compiler/ir/interpreter.h"
#include "compiler/ir/parser.h"
#include "memory_checks.h"
#include "op_graphs.h"

using namespace sinter;

TEST_CASE("the pipeline keeps the values of the train step of every example") {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(SINTER_SOURCE_DIR) + "/examples"))
    if (e.path().extension() == ".sn") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE_FALSE(files.empty());
  for (const auto& file : files) {
    INFO(file.filename().string());
    driver::Options o;
    o.passes.verifyEach = true;
    std::ostringstream log;
    o.log = &log;
    driver::Compilation c(file.string(), o);
    REQUIRE(c.ok());
    if (!c.graph().train) continue;
    const ir::Graph& step = c.grad().trainStep;
    const ir::Graph& opt = c.optimized().trainStep;

    std::vector<ir::ParseError> errs;
    auto parsed = ir::parseGraph(ir::print(opt), "opt.ir", errs);
    REQUIRE(parsed);
    CHECK(ir::print(*parsed) == ir::print(opt));

    const auto plan = c.memoryPlan({{"batch", 64}});  // with the kernel program's fused groups
    for (std::int64_t n : {1, 64}) test::checkNoOverlap(opt, plan, {{"batch", n}});

    const auto args = test::randomInputs(step, 2, 11);
    const auto a = ir::interpret(step, args), b = ir::interpret(opt, args);
    REQUIRE(a.size() == b.size());
    for (std::size_t r = 0; r < a.size(); ++r) {
      INFO("result " << step.results[r].name);
      REQUIRE(a[r].data.size() == b[r].data.size());
      for (std::size_t i = 0; i < a[r].data.size(); ++i)
        if (!(std::isnan(a[r].data[i]) && std::isnan(b[r].data[i])))
          CHECK(b[r].data[i] == Approx(a[r].data[i]).epsilon(1e-9).margin(1e-12));
    }
  }
}
