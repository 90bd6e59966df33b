#include "frontend/diagnostics.h"

#include "frontend/source.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <ostream>
#include <sstream>
#include <tuple>

namespace sinter::frontend {
namespace {

constexpr int kTabStop = 8;
constexpr int kMaxWidth = 160;   // wider lines are shown as a window around the caret
constexpr int kWindowLead = 60;  // columns kept to the left of the caret in such a window

// Length of the UTF-8 sequence at s[i], or 0 when the bytes there are not valid UTF-8.
std::size_t utf8Length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  const std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size() || c == 0xC0 || c == 0xC1) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}

// Where each byte of a line lands on screen: tabs expand, a UTF-8 character takes one column.
struct Layout {
  std::vector<int> col;  // display column (0-based) of the character that byte i belongs to
  int width = 0;
};

Layout layOut(std::string_view line) {
  Layout l;
  l.col.resize(line.size());
  for (std::size_t i = 0; i < line.size();) {
    const std::size_t n = std::max<std::size_t>(1, utf8Length(line, i));
    for (std::size_t k = 0; k < n; ++k) l.col[i + k] = l.width;
    l.width += line[i] == '\t' ? kTabStop - l.width % kTabStop : 1;
    i += n;
  }
  return l;
}

// The line's characters whose display columns fall in [lo, hi).
std::string visibleText(std::string_view line, const Layout& l, int lo, int hi) {
  std::string out;
  for (std::size_t i = 0; i < line.size();) {
    const std::size_t utf = utf8Length(line, i);
    const std::size_t n = std::max<std::size_t>(1, utf);
    const int c = l.col[i];
    const auto ch = static_cast<unsigned char>(line[i]);
    if (ch == '\t') {
      const int end = c + kTabStop - c % kTabStop;
      for (int p = std::max(c, lo); p < std::min(end, hi); ++p) out += ' ';
    } else if (c >= lo && c < hi) {
      if (utf > 1) out.append(line.substr(i, n));
      else if (ch >= 0x20 && ch < 0x7F) out += static_cast<char>(ch);
      else out += '?';  // NUL, other control bytes and invalid UTF-8 must not reach the terminal raw
    }
    i += n;
  }
  return out;
}

std::string_view severityName(Diagnostic::Severity s) {
  switch (s) {
    case Diagnostic::Error: return "error";
    case Diagnostic::Warning: return "warning";
    case Diagnostic::Note: return "note";
  }
  return "error";
}

std::string header(const Diagnostic& d) {
  std::string where;
  if (d.loc.valid()) where = d.loc.str() + ": ";
  else if (!d.loc.file.empty()) where = d.loc.file + ": ";
  return fmt::format("{}{}: {}", where, severityName(d.severity), d.message);
}

// Line n (1-based) of text, without its line break; nullopt when the text is shorter.
std::optional<std::string_view> lineOf(std::string_view text, int n) {
  std::size_t begin = 0;
  for (int i = 1; i < n; ++i) {
    begin = lineEnd(text, begin);
    if (begin == text.size()) return std::nullopt;
    ++begin;
  }
  std::size_t end = lineEnd(text, begin);
  if (end > begin && text[end - 1] == '\r') --end;
  return text.substr(begin, end - begin);
}

}  // namespace

std::string renderSnippet(std::string_view line, const Diagnostic& d) {
  const Layout l = layOut(line);
  // A column past the end of the line (an "expected ')'" at the line's end) keeps counting on screen.
  auto disp = [&](long col) {
    const long b = std::max(0L, col - 1);
    return b < static_cast<long>(line.size()) ? l.col[static_cast<std::size_t>(b)]
                                              : l.width + static_cast<int>(b - static_cast<long>(line.size()));
  };
  const int caret = disp(d.loc.col);
  const int caretEnd = std::max(caret + 1, disp(static_cast<long>(d.loc.col) + std::max(1, d.length)));
  int total = std::max(l.width, caretEnd);
  std::vector<std::pair<int, int>> tildes{{caret, caretEnd}};
  for (const Diagnostic::Highlight& h : d.highlights) {
    if (h.line != d.loc.line || h.length <= 0) continue;
    const int b = disp(h.col);
    const int e = std::max(b + 1, disp(static_cast<long>(h.col) + h.length));
    tildes.emplace_back(b, e);
    total = std::max(total, e);
  }
  std::string marks(static_cast<std::size_t>(total), ' ');
  for (auto [b, e] : tildes)
    for (int p = b; p < e; ++p) marks[static_cast<std::size_t>(p)] = '~';
  marks[static_cast<std::size_t>(caret)] = '^';

  int lo = 0, hi = total;
  if (total > kMaxWidth) {
    lo = std::max(0, caret - kWindowLead);
    hi = std::min(total, lo + kMaxWidth);
    lo = std::max(0, hi - kMaxWidth);
  }
  std::string text = visibleText(line, l, lo, hi);
  std::string under = marks.substr(static_cast<std::size_t>(lo), static_cast<std::size_t>(hi - lo));
  if (lo > 0) {
    text = "..." + text;
    under = "   " + under;
  }
  if (hi < l.width) text += "...";
  while (!text.empty() && text.back() == ' ') text.pop_back();
  while (!under.empty() && under.back() == ' ') under.pop_back();
  return text + '\n' + under + '\n';
}

void DiagnosticEngine::report(Diagnostic d) {
  // An error inside a layer shows once, not once per call of the layer: drop repeats and their notes.
  if (d.severity == Diagnostic::Error) ++reports_;
  if (d.severity == Diagnostic::Note && droppingNotes_) return;
  droppingNotes_ = false;
  if (d.severity != Diagnostic::Note && d.loc.valid()) {
    for (const Diagnostic& o : diags_)
      if (o.severity == d.severity && o.loc.line == d.loc.line && o.loc.col == d.loc.col && o.message == d.message &&
          o.loc.file == d.loc.file) {
        droppingNotes_ = true;
        return;
      }
  }
  if (d.severity == Diagnostic::Error) ++errors_;
  if (d.severity == Diagnostic::Warning) ++warnings_;
  if (stopped_) return;
  if (d.severity == Diagnostic::Error && limit_ > 0 && errors_ > limit_) {
    stopped_ = true;
    Diagnostic stop;
    stop.message = "too many errors emitted, stopping now";
    diags_.push_back(std::move(stop));
    return;
  }
  diags_.push_back(std::move(d));
}

void DiagnosticEngine::error(const ir::SourceLoc& loc, std::string message, int length) {
  report({Diagnostic::Error, loc, length, std::move(message), {}});
}

void DiagnosticEngine::warning(const ir::SourceLoc& loc, std::string message, int length) {
  report({Diagnostic::Warning, loc, length, std::move(message), {}});
}

void DiagnosticEngine::note(const ir::SourceLoc& loc, std::string message, int length) {
  report({Diagnostic::Note, loc, length, std::move(message), {}});
}

void DiagnosticEngine::sortByLocation(std::size_t first) {
  if (first >= diags_.size()) return;
  std::vector<std::vector<Diagnostic>> groups;
  for (std::size_t i = first; i < diags_.size(); ++i) {
    if (diags_[i].severity != Diagnostic::Note || groups.empty()) groups.emplace_back();
    groups.back().push_back(std::move(diags_[i]));
  }
  // Files in the order they were added (the model file, then its imports), then lines and columns.
  auto fileIndex = [&](const std::string& f) {
    for (std::size_t i = 0; i < sources_.size(); ++i)
      if (sources_[i].first == f) return static_cast<int>(i);
    return static_cast<int>(sources_.size());
  };
  auto key = [&](const std::vector<Diagnostic>& g) {
    const ir::SourceLoc& l = g.front().loc;
    return l.valid() ? std::tuple(fileIndex(l.file), l.line, l.col) : std::tuple(std::numeric_limits<int>::max(), 0, 0);
  };
  std::stable_sort(groups.begin(), groups.end(), [&](const auto& a, const auto& b) { return key(a) < key(b); });
  diags_.resize(first);
  for (auto& g : groups)
    for (Diagnostic& d : g) diags_.push_back(std::move(d));
}

void DiagnosticEngine::addSource(const std::string& file, std::string text) {
  for (auto& [name, body] : sources_)
    if (name == file) {
      body = std::move(text);
      return;
    }
  sources_.emplace_back(file, std::move(text));
}

void DiagnosticEngine::print(std::ostream& os) const {
  for (const Diagnostic& d : diags_) {
    os << header(d) << '\n';
    if (!d.loc.valid()) continue;
    for (const auto& [name, body] : sources_)
      if (name == d.loc.file) {
        if (auto line = lineOf(body, d.loc.line)) os << renderSnippet(*line, d);
        break;
      }
  }
  auto count = [](int n, std::string_view what) { return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s"); };
  if (warnings_ > 0 && errors_ > 0) os << count(warnings_, "warning") << " and " << count(errors_, "error");
  else if (errors_ > 0) os << count(errors_, "error");
  else if (warnings_ > 0) os << count(warnings_, "warning");
  if (warnings_ > 0 || errors_ > 0) os << " generated.\n";
}

std::string DiagnosticEngine::str() const {
  std::ostringstream os;
  print(os);
  return os.str();
}

}  // namespace sinter::frontend
