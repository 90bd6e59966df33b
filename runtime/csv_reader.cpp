#include "runtime/csv_reader.h"

#include "runtime/error.h"
#include "runtime/file_io.h"

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

  size_t label = columns - 1;
  if (!o.labelColumn.empty()) {
    bool found = false;
    for (size_t c = 0; c < columns && o.header; ++c)
      if (names[c] == o.labelColumn) label = c, found = true;
    size_t idx = 0;
    const auto [p, ec] = std::from_chars(o.labelColumn.data(), o.labelColumn.data() + o.labelColumn.size(), idx);
    if (!found && ec == std::errc() && p == o.labelColumn.data() + o.labelColumn.size()) {
      if (idx >= columns)
        throw Error(path + ": label column " + o.labelColumn + " is out of range: the file has " +
                    std::to_string(columns) + " columns");
      label = idx, found = true;
    }
    if (!found) {
      std::string list;
      for (size_t c = 0; c < columns; ++c) list += (c ? ", " : "") + quoted(names[c]);
      throw Error(path + ": no column named " + quoted(o.labelColumn) +
                  (o.header ? "; the header has " + list : "; without a header, give a 0-based index"));
    }
  }

  CsvTable t;
  t.features = static_cast<int64_t>(columns - 1);
  for (size_t c = 0; c < columns; ++c)
    if (c != label) t.featureNames.push_back(names[c]);
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
      if (c == label && !o.classLabels) {
        float v = 0;
        const auto [p, ec] = std::from_chars(b, e, v);
        if (f.text.empty() || ec != std::errc() || p != e || !std::isfinite(v))
          throw Error(place + "target " + quoted(f.text) + " in column " + quoted(names[c]) +
                      " is not a finite number");
        t.targets.push_back(v);
        continue;
      }
      if (c == label) {
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
    ++t.rows;
  } while (lex.record(rec, line));
  if (t.rows == 0) throw Error(path + ": no data records after the header");
  return t;
}

}  // namespace sinter::rt
