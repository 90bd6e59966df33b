// The pipeline of the frontend: read, lex, parse, check, build the graph.
#include "frontend/frontend.h"

#include <fmt/format.h>

#include <stdexcept>

#include "frontend/ast_printer.h"
#include "frontend/lexer.h"
#include "frontend/parser.h"
#include "frontend/reporter.h"
#include "frontend/sema.h"
#include "frontend/to_graph.h"

namespace sinter::frontend {
namespace {

std::optional<std::string> readOrReport(const std::string& path, DiagnosticEngine& diags) {
  std::string why;
  auto text = readSourceFile(path, why);
  if (!text) diags.error({}, fmt::format("cannot open '{}': {}", path, why));
  return text;
}

}  // namespace

std::optional<ir::Module> compileSource(std::string_view text, const std::string& path, DiagnosticEngine& diags) {
  diags.addSource(path, std::string(text));
  const int errorsBefore = diags.errorCount();
  const std::size_t firstDiag = diags.all().size();
  const SourceFile file(path, text);
  Reporter r(diags, file);
  std::optional<ir::Module> out;
  if (text.size() > kMaxSourceBytes) {
    r.fileError("file is larger than 256 MiB");
    return std::nullopt;
  }
  const std::vector<Token> tokens = lex(file, r);
  ast::File tree = parse(tokens, r);
  // Sema runs after syntax errors too: broken statements keep their names, so its reports are real.
  const std::optional<CheckedFile> checked = check(tree, r);
  if (checked && diags.errorCount() == errorsBefore) {
    try {
      out = toGraph(*checked->model, checked->train, file);
    } catch (const std::logic_error& e) {
      // Sema accepted what the IR rejects: a bug of ours, but the user deserves a message, not an abort.
      r.fileError(fmt::format("internal compiler error while building the graph: {}", e.what()));
    }
  }
  diags.sortByLocation(firstDiag);
  if (diags.errorCount() > errorsBefore) return std::nullopt;
  return out;
}

std::optional<ir::Module> compileFile(const std::string& path, DiagnosticEngine& diags) {
  auto text = readOrReport(path, diags);
  if (!text) return std::nullopt;
  return compileSource(*text, path, diags);
}

std::optional<std::string> dumpAstSource(std::string_view text, const std::string& path, DiagnosticEngine& diags) {
  diags.addSource(path, std::string(text));
  const int errorsBefore = diags.errorCount();
  const SourceFile file(path, text);
  Reporter r(diags, file);
  const std::size_t firstDiag = diags.all().size();
  const ast::File tree = parse(lex(file, r), r);
  diags.sortByLocation(firstDiag);
  if (diags.errorCount() > errorsBefore) return std::nullopt;
  return printAst(tree, path);
}

std::optional<std::string> dumpAst(const std::string& path, DiagnosticEngine& diags) {
  auto text = readOrReport(path, diags);
  if (!text) return std::nullopt;
  return dumpAstSource(*text, path, diags);
}

}  // namespace sinter::frontend
