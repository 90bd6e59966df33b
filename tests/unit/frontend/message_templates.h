// The diagnostic messages the frontend can emit, read from its source: the message text written in each
// call of a reporting function (error, warning, note, fail, failCall, fileError, failExpected,
// expectName, call). The coverage test in test_expected_diagnostics.cpp checks that each one has an
// annotated case. A message written into a variable first and reported later is seen only through the
// literal text, if any, of the reporting call: keep message text in the call.
#pragma once

#include <regex>
#include <string>
#include <vector>

namespace sinter::frontend::test {

struct MessageTemplate {
  std::string where;  // "frontend/parser.cpp:139"
  std::string text;   // the literal as written: "expected '}}' at the end of {}"
  bool isFormat;      // an fmt::format string: {} are holes, {{ and }} are braces
  // Matches a message made from this template: the literal text, with anything in each hole.
  std::regex pattern() const;
};

// Every message template in the .cpp files of `dir`, in file and line order.
std::vector<MessageTemplate> frontendMessageTemplates(const std::string& dir);

}  // namespace sinter::frontend::test
