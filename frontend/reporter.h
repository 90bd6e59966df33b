// Reports diagnostics for one source file in terms of the frontend's ranges.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "frontend/diagnostics.h"
#include "frontend/source.h"

namespace sinter::frontend {

class Reporter {
 public:
  Reporter(DiagnosticEngine& diags, const SourceFile& file) : diags_(diags), file_(file) {}

  // Caret at at.begin, '~' to at.end (to the end of the line when the range spans lines) and under
  // each highlight on the same line.
  void error(Range at, std::string message, const std::vector<Range>& highlights = {});
  void warning(Range at, std::string message);
  void note(Range at, std::string message);
  // An error about the whole file: "file: error: message".
  void fileError(std::string message);

  // True once the engine stopped recording (too many errors): parsing garbage can stop early.
  bool stopped() const { return diags_.limitReached(); }
  int errorCount() const { return diags_.errorCount(); }
  int errorReports() const { return diags_.errorReports(); }
  const SourceFile& file() const { return file_; }

 private:
  Diagnostic make(Diagnostic::Severity s, Range at, std::string message) const;
  int length(Range r) const;

  DiagnosticEngine& diags_;
  const SourceFile& file_;
};

// A user's name in quotes for a message, shortened when absurdly long: 'w1'.
std::string quoted(std::string_view name);

}  // namespace sinter::frontend
