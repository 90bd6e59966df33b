// Diagnostics that point at the user's text: "file:line:col: error: message", the source line and a caret.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "compiler/ir/types.h"

namespace sinter::frontend {

struct Diagnostic {
  enum Severity { Error, Warning, Note };
  Severity severity = Error;
  ir::SourceLoc loc;  // no line (line 0): printed as "file: error: ..." or, without a file, "error: ..."
  int length = 1;     // columns to underline: '^' under loc, '~' under the rest
  std::string message;
  // Further stretches of the caret's line underlined with '~' (e.g. both operands of a bad '+').
  struct Highlight {
    int line = 0, col = 0, length = 0;
  };
  std::vector<Highlight> highlights;
};

class DiagnosticEngine {
 public:
  void report(Diagnostic d);
  void error(const ir::SourceLoc& loc, std::string message, int length = 1);
  void warning(const ir::SourceLoc& loc, std::string message, int length = 1);
  void note(const ir::SourceLoc& loc, std::string message, int length = 1);
  bool hasErrors() const { return errors_ > 0; }
  int errorCount() const { return errors_; }
  // Errors reported, repeats included: a loop that keeps failing the same way must still see it fail.
  int errorReports() const { return reports_; }
  int warningCount() const { return warnings_; }
  const std::vector<Diagnostic>& all() const { return diags_; }
  // Renders every diagnostic with its source line and caret (source text is looked up by file name
  // among the files registered with addSource), followed by "N error(s) generated." when any.
  void print(std::ostream& os) const;
  std::string str() const;
  void addSource(const std::string& file, std::string text);

  // After this many errors further diagnostics are counted but not kept, and one "too many errors"
  // error says so: a binary file must not produce a million lines. 0 means no limit.
  void setErrorLimit(int limit) { limit_ = limit; }
  // Puts the diagnostics from index `first` on in source order, each error or warning followed by its
  // notes; those without a location go last. A compiler finds errors stage by stage (lexer, parser,
  // sema), but people read them top to bottom.
  void sortByLocation(std::size_t first);
  bool limitReached() const { return stopped_; }

 private:
  std::vector<Diagnostic> diags_;
  std::vector<std::pair<std::string, std::string>> sources_;
  int errors_ = 0;
  int reports_ = 0;
  int warnings_ = 0;
  int limit_ = 50;
  bool stopped_ = false;
  bool droppingNotes_ = false;  // the last error was a repeat: its notes go too
};

// The source line and caret line of a diagnostic ("  h1 = relu(x)\n       ^~~~\n"), with tabs expanded,
// control and invalid bytes shown as '?', and very long lines cut to a window around the caret.
std::string renderSnippet(std::string_view line, const Diagnostic& d);

}  // namespace sinter::frontend
