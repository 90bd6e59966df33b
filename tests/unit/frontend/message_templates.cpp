// Finds the message text of each reporting call in the frontend's sources with a small C++ tokenizer
// (comments, string and character literals), enough to tell a call's first string literal.
#include "message_templates.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace sinter::frontend::test {

namespace {

struct Token {
  enum Kind { Ident, String, Punct } kind;
  std::string text;  // String: the decoded literal
  int line;
};

std::vector<Token> tokenize(const std::string& s) {
  std::vector<Token> out;
  int line = 1;
  std::size_t i = 0;
  auto isWord = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  while (i < s.size()) {
    const char c = s[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (s.compare(i, 2, "//") == 0) {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (s.compare(i, 2, "/*") == 0) {
      const std::size_t end = std::min(s.find("*/", i + 2), s.size());
      line += static_cast<int>(
          std::count(s.begin() + static_cast<std::ptrdiff_t>(i), s.begin() + static_cast<std::ptrdiff_t>(end), '\n'));
      i = end + 2;
    } else if (c == '\'') {  // a character literal: '"' must not start a string
      i += s[i + 1] == '\\' ? 3 : 2;
      ++i;  // the closing quote
      out.push_back({Token::Punct, "'", line});
    } else if (c == '"') {
      std::string text;
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] != '\\') {
          text += s[i];
          continue;
        }
        const char e = s[++i];
        text += e == 'n' ? '\n' : e == 't' ? '\t' : e;
      }
      ++i;
      out.push_back({Token::String, text, line});
    } else if (isWord(c)) {
      const std::size_t start = i;
      while (i < s.size() && isWord(s[i])) ++i;
      out.push_back({Token::Ident, s.substr(start, i - start), line});
    } else {
      out.push_back({Token::Punct, std::string(1, c), line});
      ++i;
    }
  }
  return out;
}

// The functions that report a diagnostic whose message is one of their arguments.
const std::set<std::string>& reporters() {
  static const std::set<std::string> names = {"error",     "warning",      "note",       "fail", "failCall",
                                              "fileError", "failExpected", "expectName", "call"};
  return names;
}

void scanFile(const std::filesystem::path& path, std::vector<MessageTemplate>& out) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::vector<Token> toks = tokenize(ss.str());
  const std::string file = "frontend/" + path.filename().string();
  for (std::size_t k = 0; k + 1 < toks.size(); ++k) {
    if (toks[k].kind != Token::Ident || !reporters().count(toks[k].text) || toks[k + 1].text != "(") continue;
    // The first string literal before the call's closing parenthesis; a call without one forwards a
    // message made elsewhere (or is a declaration).
    int depth = 0;
    for (std::size_t j = k + 1; j < toks.size(); ++j) {
      if (toks[j].kind == Token::Punct && toks[j].text == "(") ++depth;
      if (toks[j].kind == Token::Punct && toks[j].text == ")" && --depth == 0) break;
      if (toks[j].kind != Token::String) continue;
      MessageTemplate t;
      t.where = file + ":" + std::to_string(toks[j].line);
      t.isFormat = j >= 2 && toks[j - 1].text == "(" && toks[j - 2].text == "format";
      for (; j < toks.size() && toks[j].kind == Token::String; ++j) t.text += toks[j].text;  // "a" "b" is "ab"
      out.push_back(std::move(t));
      break;
    }
  }
}

}  // namespace

std::regex MessageTemplate::pattern() const {
  std::string re;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (isFormat && (c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      re += '\\';
      re += c;
      ++i;
    } else if (isFormat && c == '{' && text.find('}', i) != std::string::npos) {
      i = text.find('}', i);
      re += "[\\s\\S]*";
    } else {
      if (std::strchr("\\^$.|?*+()[]{}", c)) re += '\\';
      re += c;
    }
  }
  return std::regex(re);
}

std::vector<MessageTemplate> frontendMessageTemplates(const std::string& dir) {
  std::vector<std::filesystem::path> paths;
  // The AST printer reports nothing; its call() prints a call.
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".cpp" && entry.path().filename() != "ast_printer.cpp")
      paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  std::vector<MessageTemplate> out;
  for (const auto& p : paths) scanFile(p, out);
  return out;
}

}  // namespace sinter::frontend::test
