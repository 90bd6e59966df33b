#include "runtime/csv_reader.h"

#include "runtime/error.h"
#include "runtime/file_io.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace sinter::rt {
namespace {

// A cell's text in quotes for a message: cut when long, and control bytes written as \xNN so that a NUL
// in the file cannot end the message early (nor an escape sequence reach the terminal).
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 40; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + (s.size() > 40 ? "...'" : "'");
}

struct Field {
  std::string text;
  int64_t line = 0, column = 0;  // where the field starts
};

// Splits the text into records of fields, tracking each field's line and column.
class Lexer {
 public:
  Lexer(const std::string& path, const std::string& text, char delim) : path_(path), s_(text), delim_(delim) {}

  // The next non-empty record, or false at the end.
  bool record(std::vector<Field>& out, int64_t& line) {
    out.clear();
    while (i_ < s_.size() && (s_[i_] == '\n' || (s_[i_] == '\r' && peek(1) == '\n'))) newline();
    if (i_ >= s_.size()) return false;
    line = line_;
    while (true) {
      out.push_back(field());
      if (i_ >= s_.size()) return true;
      if (s_[i_] == delim_) {
        advance();
        continue;
      }
      newline();  // field() stops only at a delimiter, a line end or the end
      return true;
    }
  }

 private:
  char peek(size_t k) const { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; }
  void advance() { ++i_, ++col_; }
  void newline() {
    i_ += s_[i_] == '\r' ? 2 : 1;
    ++line_;
    col_ = 1;
  }
  bool atEnd() const {
    return i_ >= s_.size() || s_[i_] == delim_ || s_[i_] == '\n' || (s_[i_] == '\r' && peek(1) == '\n');
  }
  std::string where(int64_t line, int64_t col) const {
    return path_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": ";
  }

  Field field() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) advance();
    Field f{{}, line_, col_};
    if (i_ < s_.size() && s_[i_] == '"') {
      advance();
      while (true) {
        if (i_ >= s_.size()) throw Error(where(f.line, f.column) + "unterminated quoted field");
        const char c = s_[i_];
        if (c == '"' && peek(1) == '"') {
          f.text += '"';
          advance();
          advance();
        } else if (c == '"') {
          advance();
          break;
        } else if (c == '\n') {
          f.text += c;
          ++i_, ++line_, col_ = 1;
        } else {
          f.text += c;
          advance();
        }
      }
      while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) advance();
      if (!atEnd())
        throw Error(where(line_, col_) + "unexpected " + quoted(std::string(1, s_[i_])) + " after a quoted field");
      return f;
    }
    while (!atEnd()) {
      f.text += s_[i_];
      advance();
    }
    while (!f.text.empty() && (f.text.back() == ' ' || f.text.back() == '\t' || f.text.back() == '\r'))
      f.text.pop_back();
    return f;
  }

  const std::string& path_;
  const std::string& s_;
  char delim_;
  size_t i_ = 0;
  int64_t line_ = 1, col_ = 1;
};

// One column by header name or 0-based index.
size_t findColumn(const std::string& path, const std::vector<std::string>& names, bool header,
                  const std::string& spec) {
  for (size_t c = 0; c < names.size() && header; ++c)
    if (names[c] == spec) return c;
  size_t idx = 0;
  const auto [p, ec] = std::from_chars(spec.data(), spec.data() + spec.size(), idx);
  if (ec == std::errc() && p == spec.data() + spec.size()) {
    if (idx >= names.size())
      throw Error(path + ": label column " + spec + " is out of range: the file has " + std::to_string(names.size()) +
                  " columns");
    return idx;
  }
  std::string list;
  for (size_t c = 0; c < names.size(); ++c) list += (c ? ", " : "") + quoted(names[c]);
  throw Error(path + ": no column named " + quoted(spec) +
              (header ? "; the header has " + list : "; without a header, give a 0-based index"));
}

// The label columns: the last by default; a header name (even one holding a comma); else a comma-separated
// group, the columns of a floating target in its order.
std::vector<size_t> labelColumns(const std::string& path, const std::vector<std::string>& names, const CsvOptions& o) {
  if (o.labelColumn.empty()) return {names.size() - 1};
  if (o.header && std::find(names.begin(), names.end(), o.labelColumn) != names.end())
    return {findColumn(path, names, o.header, o.labelColumn)};
  std::vector<size_t> group;
  std::string_view rest = o.labelColumn;
  for (;;) {
    const size_t comma = rest.find(',');
    const size_t c = findColumn(path, names, o.header, std::string(rest.substr(0, comma)));
    if (std::find(group.begin(), group.end(), c) != group.end())
      throw Error(path + ": label column " + quoted(names[c]) + " is listed twice");
    group.push_back(c);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (group.size() >= names.size()) throw Error(path + ": label columns " + o.labelColumn + " leave no feature column");
  if (group.size() > 1 && o.classLabels)
    throw Error(path + ": label columns " + o.labelColumn + " are " + std::to_string(group.size()) +
                " columns; class labels take one (a floating target input [batch, " + std::to_string(group.size()) +
                "] takes several)");
  return group;
}

}  // namespace

CsvTable readCsv(const std::string& path, const CsvOptions& o) {
  const std::string text = readFile(path);
  Lexer lex(path, text, o.delimiter);
  std::vector<Field> rec;
  int64_t line = 0;
  for (int64_t k = 0; k <= o.skipRows; ++k)  // the skipped records, then the first one
    if (!lex.record(rec, line))
      throw Error(path + (o.skipRows ? ": no records after the " + std::to_string(o.skipRows) + " skipped (--skip-rows)"
                                     : std::string(": no records (empty file)")));
  const size_t columns = rec.size();
  if (columns < 2)
    throw Error(path + ":" + std::to_string(line) +
                ":1: expected at least two columns (features and a label), found 1");
  std::vector<std::string> names;
  for (size_t c = 0; c < columns; ++c) names.push_back(o.header ? rec[c].text : "column " + std::to_string(c));

  const std::vector<size_t> labels = labelColumns(path, names, o);
  CsvTable t;
  t.features = static_cast<int64_t>(columns - labels.size());
  t.targetWidth = static_cast<int64_t>(labels.size());
  for (size_t c = 0; c < columns; ++c)
    if (std::find(labels.begin(), labels.end(), c) == labels.end()) t.featureNames.push_back(names[c]);
  std::vector<float> row(labels.size());  // a record's targets, in the order of the label columns
  bool first = o.header;
  do {
    if (first) {
      first = false;
      continue;
    }
    if (rec.size() != columns)
      throw Error(path + ":" + std::to_string(line) + ":1: expected " + std::to_string(columns) + " fields, found " +
                  std::to_string(rec.size()));
    for (size_t c = 0; c < columns; ++c) {
      const Field& f = rec[c];
      const std::string place = path + ":" + std::to_string(f.line) + ":" + std::to_string(f.column) + ": ";
      const char* b = f.text.data();
      const char* e = b + f.text.size();
      if (b < e && *b == '+' && e - b > 1 && b[1] != '-') ++b;  // from_chars takes no '+'
      const auto label = std::find(labels.begin(), labels.end(), c);
      if (label != labels.end() && !o.classLabels) {
        float v = 0;
        const auto [p, ec] = std::from_chars(b, e, v);
        if (f.text.empty() || ec != std::errc() || p != e || !std::isfinite(v))
          throw Error(place + "target " + quoted(f.text) + " in column " + quoted(names[c]) +
                      " is not a finite number");
        row[static_cast<size_t>(label - labels.begin())] = v;
        continue;
      }
      if (label != labels.end()) {
        // "3.0" is accepted as the class 3: NumPy's savetxt writes labels as floats.
        double d = -1;
        const auto [p, ec] = std::from_chars(b, e, d);
        if (f.text.empty() || ec != std::errc() || p != e || !(d >= 0) || d != std::floor(d) || d > INT32_MAX)
          throw Error(
              place + "label " + quoted(f.text) + " in column " + quoted(names[c]) +
              " is not a class index (an integer >= 0); a model whose target input is floating (f32 [batch]) reads "
              "any number");
        t.labels.push_back(static_cast<int32_t>(d));
        continue;
      }
      float v = 0;
      const auto [p, ec] = std::from_chars(b, e, v);
      if (f.text.empty() || ec != std::errc() || p != e || !std::isfinite(v))
        throw Error(place + (f.text.empty() ? std::string("empty cell") : "non-numeric cell " + quoted(f.text)) +
                    " in column " + quoted(names[c]));
      t.values.push_back(v);
    }
    if (!o.classLabels) t.targets.insert(t.targets.end(), row.begin(), row.end());
    ++t.rows;
  } while (lex.record(rec, line));
  if (t.rows == 0) throw Error(path + ": no data records after the header");
  return t;
}

}  // namespace sinter::rt
