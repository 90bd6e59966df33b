// The docs list the same ops as the code: docs/autodiff.md's rule table against the op table's flags.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "compiler/ir/op_table.h"

using namespace sinter;

namespace {

std::string readDoc(const std::string& name) {
  std::ifstream f(std::string(SINTER_SOURCE_DIR) + "/docs/" + name);
  REQUIRE(f);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The text between a heading and the next heading of the same level.
std::string section(const std::string& doc, const std::string& heading) {
  const auto start = doc.find(heading);
  REQUIRE(start != std::string::npos);
  const auto end = doc.find("\n## ", start + heading.size());
  return doc.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::set<std::string> backticked(const std::string& text, const std::string& pattern) {
  std::set<std::string> out;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    out.insert((*it)[1]);
  return out;
}

}  // namespace

TEST_CASE("docs/autodiff.md lists exactly the ops that have gradient rules") {
  const std::string rules = section(readDoc("autodiff.md"), "## The rules");
  const std::set<std::string> documented = backticked(rules, R"(\n\| `([a-z0-9_]+)` \|)");
  const auto noRulePara = rules.substr(rules.find("Ops **without** a rule"));
  const std::set<std::string> documentedWithout =
      backticked(noRulePara.substr(0, noRulePara.find("\n\n")), R"(`([a-z0-9_]+)`)");

  std::set<std::string> withRule, without;
  for (const ir::OpInfo& op : ir::allOps()) {
    const bool hasRule = op.flags & (ir::kDifferentiable | ir::kLeaf);
    (hasRule ? withRule : without).insert(std::string(op.name));
  }
  CHECK(documented == withRule);
  CHECK(documentedWithout == without);
}
