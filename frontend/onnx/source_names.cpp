// Readable, unique identifiers for a written model file.
#include "frontend/onnx/source_names.h"

#include <fmt/format.h>

#include <array>
#include <cctype>

#include "frontend/functions.h"

namespace sinter::onnxio {

namespace {

// The language's keywords (frontend/lexer.cpp), the names its statements read as words, and nn.sn's module.
constexpr std::array<std::string_view, 16> kReserved = {"model", "train", "input",  "param",  "output", "layer",
                                                        "def",   "for",   "return", "import", "if",     "else",
                                                        "along", "in",    "as",     "batch"};

bool reserved(const std::string& s) {
  for (std::string_view k : kReserved)
    if (s == k) return true;
  return frontend::findBuiltin(s) != nullptr;
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

std::string SourceNames::identifier(std::string_view raw) {
  std::string s;
  for (char ch : raw) s += std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' ? ch : '_';
  // "onnx::Conv_25" and "/fc1/Gemm" leave runs of '_' at the front: they say nothing.
  s.erase(0, s.find_first_not_of('_'));
  while (!s.empty() && s.back() == '_') s.pop_back();
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "v" + s;
  return s;
}

std::string SourceNames::take(std::string_view raw) {
  const std::string base = identifier(raw);
  std::string s = base;
  for (int i = 2; reserved(s) || taken_.count(s); ++i) s = fmt::format("{}_{}", base, i);
  taken_.insert(s);
  return s;
}

std::string SourceNames::fromValueName(std::string_view onnxName) {
  std::string s(onnxName);
  for (std::string_view suffix : {"_output_0", ":0"})
    if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0)
      s.resize(s.size() - suffix.size());
  return s.empty() ? s : lower(identifier(s));
}

std::string SourceNames::layerPath(std::string_view onnxName) {
  const std::size_t last = onnxName.rfind('/');
  if (onnxName.empty() || onnxName[0] != '/' || last == 0 || last == std::string_view::npos) return {};
  // torch repeats a container's name in its children's: "/layers/layers.0/Gemm" is layer "layers.0".
  std::string_view path = onnxName.substr(1, last - 1);
  std::string out;
  std::string_view prev;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (!prev.empty() && part.substr(0, prev.size()) == prev && !out.empty()) {
      out.resize(out.size() - prev.size());
      if (!out.empty() && out.back() == '_') out.pop_back();
    }
    if (!out.empty()) out += '_';
    for (char ch : part) out += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    prev = part;
  }
  return lower(out);
}

}  // namespace sinter::onnxio
