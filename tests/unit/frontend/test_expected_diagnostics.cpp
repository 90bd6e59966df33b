// Golden diagnostic tests written as annotated inputs, in the style of clang's -verify and MLIR's
// split-input-file: every file in tests/unit/frontend/expected/ holds cases separated by a line
// `# -----`, and each case states the errors it must produce next to the line they are about:
//
//   y = x @ w   # expected-error {{inner dimensions}}
//   # expected-error@+1 {{unknown function 'rleu'}}
//   y = rleu(x)
//   # expected-note@-3 {{declared here}}      (a line relative to the annotation's own line)
//   # expected-error@* {{no model found}}     (anywhere: another file, or no location)
//
// The text between {{ and }} must occur in the message. Each case compiles on its own (the other cases'
// lines are blanked, so line numbers are the file's), and must yield exactly its annotated errors and
// warnings, each once; notes are checked when annotated.
//
// A second test keeps the cases complete: it reads the message of every reporting call in frontend/
// (message_templates.h) and fails when no annotated case produces it, unless the message is in the
// short list of exemptions below, each with its reason and the test that covers it instead.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "frontend/frontend.h"
#include "frontend/onnx/onnx_import.h"
#include "message_templates.h"
#include "tests/onnx/onnx_models.h"

using namespace sinter::frontend;
using sinter::frontend::test::frontendMessageTemplates;
using sinter::frontend::test::MessageTemplate;

namespace {

struct Expectation {
  Diagnostic::Severity severity;
  int line = 0;  // 0: anywhere
  std::string text;
  int annotationLine = 0;
  bool matched = false;
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::vector<Expectation> expectations(const std::vector<std::string>& src, std::size_t first, std::size_t last) {
  static const std::regex re(R"(expected-(error|warning|note)(@(\*|[+-]?[0-9]+))?\s*\{\{(.*?)\}\})");
  std::vector<Expectation> out;
  for (std::size_t i = first; i < last; ++i) {
    for (std::sregex_iterator it(src[i].begin(), src[i].end(), re), end; it != end; ++it) {
      const std::smatch& m = *it;
      Expectation e;
      e.severity = m[1] == "error" ? Diagnostic::Error : m[1] == "warning" ? Diagnostic::Warning : Diagnostic::Note;
      const int here = static_cast<int>(i) + 1;
      e.annotationLine = here;
      const std::string at = m[3];
      if (at.empty()) e.line = here;
      else if (at == "*") e.line = 0;
      else if (at[0] == '+' || at[0] == '-') e.line = here + std::stoi(at);
      else e.line = std::stoi(at);
      e.text = m[4];
      out.push_back(std::move(e));
    }
  }
  return out;
}

const char* severityName(Diagnostic::Severity s) {
  return s == Diagnostic::Error ? "error" : s == Diagnostic::Warning ? "warning" : "note";
}

// Checks one case; returns a description of every mismatch. The messages of the diagnostics that
// matched an annotation are added to `matched` (for the coverage test below).
std::string checkCase(const std::string& path, const std::vector<std::string>& src, std::size_t first, std::size_t last,
                      std::vector<std::string>& matched) {
  std::string text;
  for (std::size_t i = 0; i < src.size(); ++i) text += (i >= first && i < last ? src[i] : std::string()) + "\n";
  std::vector<Expectation> want = expectations(src, first, last);
  DiagnosticEngine diags;
  diags.setErrorLimit(0);
  compileSource(text, path, diags);
  std::string problems;
  for (const Diagnostic& d : diags.all()) {
    const bool here = d.loc.file == path && d.loc.valid();
    bool found = false;
    for (Expectation& e : want) {
      if (e.matched || e.severity != d.severity || d.message.find(e.text) == std::string::npos) continue;
      if (e.line != 0 && !(here && d.loc.line == e.line)) continue;
      e.matched = found = true;
      matched.push_back(d.message);
      break;
    }
    if (!found && d.severity != Diagnostic::Note)
      problems += "  unexpected " + std::string(severityName(d.severity)) + " at " +
                  (d.loc.valid() ? d.loc.str() : d.loc.file) + ": " + d.message + "\n";
  }
  for (const Expectation& e : want)
    if (!e.matched)
      problems += "  missing " + std::string(severityName(e.severity)) + " {{" + e.text + "}} for line " +
                  (e.line ? std::to_string(e.line) : "*") + " (annotated on line " + std::to_string(e.annotationLine) +
                  ")\n";
  if (!problems.empty())
    problems = path + ":" + std::to_string(first + 1) + ": case failed:\n" + problems + diags.str();
  return problems;
}

// Messages that no annotated case can produce, each with the reason and the test that covers it instead.
const std::map<std::string, std::string>& exemptions() {
  static const std::map<std::string, std::string> table = {
      // Unreachable by design: they turn a missing check into a message instead of an abort.
      {"internal compiler error: the IR rejects this {}: {}",
       "unreachable: the frontend checks each operation before it adds the node"},
      {"internal compiler error: {}", "unreachable: an exception escaping the frontend"},
      {"cannot {} {} and {}: the shapes do not broadcast",
       "unreachable: broadcasting fails at a pair of dimensions, which the message before it names"},
      // Limits that take absurdly large inputs to reach.
      {"calls and expressions nest too deeply (more than {} levels in all)",
       "2,048 nested calls: tests/lit/diagnostics/robustness.test (CALLS)"},
      {"expression nests too deeply (more than {} levels of parentheses and calls)",
       "257 nested parentheses: test_diagnostics.cpp, 'robustness: deeply nested parentheses'"},
      {"expression is too long (more than {} nested operations); split it into several statements",
       "1,025 operators in a row: test_diagnostics.cpp, 'robustness: very long expressions and lines'"},
      {"blocks nest too deeply (more than {} levels)", "65 nested loops: tests/lit/diagnostics/robustness.test (FOR)"},
      {"imports nest more than {} deep",
       "a chain of 33 files: test_language.cpp, 'language: imports, include paths and cycles'"},
      {"file is larger than 256 MiB", "a 256 MiB input: too large for a unit test, and not tested"},
      {"this program cannot read ONNX models (it has no ONNX importer); use the sinter tool",
       "these tests install the importer: 'expected diagnostics: an ONNX import without an importer' below"},
      // The file system's errors.
      {"cannot open '{}': {}",
       "a file that exists but cannot be read: test_diagnostics.cpp, 'diagnostics: file not found', and "
       "tests/lit/diagnostics/bad_input.test"},
  };
  return table;
}

// The ONNX models that expected/onnx_layers.sn imports, written into the build tree (models are built in code,
// tests/onnx/onnx_models.h), whose directory joins the search path; and the ONNX importer, as the sinter tool
// installs it.
void prepareOnnxModels() {
  namespace fs = std::filesystem;
  const fs::path dir = SINTER_BINARY_DIR "/tests/unit/frontend/onnx_models";
  fs::create_directories(dir);
  // Whole or not at all: ctest runs this executable's test cases in parallel processes that write the same files.
  auto write = [&](const std::string& name, const std::string& bytes) {
    const fs::path tmp = dir / (name + ".tmp" + std::to_string(::getpid()));
    std::ofstream(tmp, std::ios::binary) << bytes;
    fs::rename(tmp, dir / name);
  };
  write("mlp.onnx", sinter::onnxtest::mlp().bytes());  // x: f32[batch, 2] -> y: f32[batch, 3]
  sinter::onnxtest::ModelBuilder elu;
  elu.input("x", {std::string("batch"), std::int64_t{2}});
  elu.node("Elu", {"x"}, {"y"}, "/act/Elu");
  elu.output("y", {std::string("batch"), std::int64_t{2}});
  write("elu.onnx", elu.bytes());
  sinter::onnxtest::ModelBuilder two;  // two inputs sharing the batch axis: y = a + b
  two.input("a", {std::string("batch"), std::int64_t{2}});
  two.input("b", {std::string("batch"), std::int64_t{2}});
  two.node("Add", {"a", "b"}, {"y"}, "/Add");
  two.output("y", {std::string("batch"), std::int64_t{2}});
  write("two.onnx", two.bytes());
  write("corrupt.onnx", "\x0a\xff\xff\xff not a model");
  CompileOptions& opts = defaultOptions();
  if (std::find(opts.includeDirs.begin(), opts.includeDirs.end(), dir.string()) == opts.includeDirs.end())
    opts.includeDirs.push_back(dir.string());
  sinter::onnxio::installOnnxLayers();
}

// Runs every case of every file in tests/unit/frontend/expected/; returns the messages that matched an
// annotation. Each failing case is a failed CHECK.
std::vector<std::string> runExpectedCases() {
  namespace fs = std::filesystem;
  prepareOnnxModels();
  int files = 0, cases = 0;
  std::vector<std::string> matched;
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(SINTER_SOURCE_DIR "/tests/unit/frontend/expected"))
    if (entry.path().extension() == ".sn") paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  for (const fs::path& p : paths) {
    ++files;
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::vector<std::string> src = lines(ss.str());
    std::size_t first = 0;
    for (std::size_t i = 0; i <= src.size(); ++i) {
      if (i < src.size() && src[i].rfind("# -----", 0) != 0) continue;
      ++cases;
      const std::string problems = checkCase(p.string(), src, first, i, matched);
      INFO(problems);
      CHECK(problems.empty());
      first = i + 1;
    }
  }
  CHECK(files > 0);
  WARN(files << " files, " << cases << " cases");
  return matched;
}

}  // namespace

TEST_CASE("expected diagnostics: every annotated case yields exactly its diagnostics", "[diagnostics][expected]") {
  runExpectedCases();
}

TEST_CASE("expected diagnostics: every diagnostic the frontend can emit has an annotated case",
          "[diagnostics][expected]") {
  const std::vector<std::string> matched = runExpectedCases();
  std::string missing;
  int covered = 0;
  const std::vector<MessageTemplate> templates = frontendMessageTemplates(SINTER_SOURCE_DIR "/frontend");
  for (const MessageTemplate& t : templates) {
    if (exemptions().count(t.text)) continue;
    const std::regex re = t.pattern();
    if (std::any_of(matched.begin(), matched.end(), [&](const std::string& m) { return std::regex_search(m, re); }))
      ++covered;
    else missing += "  " + t.where + ": \"" + t.text + "\"\n";
  }
  INFO(
      "diagnostics with no annotated case in tests/unit/frontend/expected/ (add one, or an exemption with the "
      "test that covers it):\n"
      << missing);
  CHECK(missing.empty());
  // An exemption whose message no longer exists is stale.
  for (const auto& [text, why] : exemptions()) {
    INFO("exemption {{" << text << "}} (" << why << ") names no message in frontend/");
    CHECK(std::any_of(templates.begin(), templates.end(), [&](const MessageTemplate& t) { return t.text == text; }));
  }
  CHECK(templates.size() > 100);  // the scanner still finds the reporting calls
  WARN(covered << " of " << templates.size() << " message templates covered by annotated cases");
}

TEST_CASE("expected diagnostics: an ONNX import without an importer", "[diagnostics][expected]") {
  prepareOnnxModels();
  CompileOptions opts = defaultOptions();
  opts.onnxLoader = nullptr;  // a program that links the frontend alone, as the fuzzer
  DiagnosticEngine diags;
  compileSource("import \"mlp.onnx\" as B\nmodel M {\n}\n", "m.sn", diags, opts);
  CHECK_THAT(diags.str(), Catch::Contains("m.sn:1:8: error: this program cannot read ONNX models"));
}
