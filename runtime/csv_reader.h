// CSV reader for training data: one sample per record, numeric feature columns and one integer label
// column (a class index in [0, classes)).
//
// Format (RFC 4180): records end at LF or CRLF; fields are separated by the delimiter (',' by default);
// a field may be quoted with '"', and then holds delimiters, newlines and doubled quotes ("");
// spaces and tabs around an unquoted field are ignored; empty lines are skipped. With a header, the first
// record names the columns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sinter::rt {

struct CsvOptions {
  bool header = true;
  // The label column: a name from the header, or a 0-based index; empty: the last column. A floating target
  // may take a comma-separated group of them ("y1,y2", "3,4"), its values in that order.
  std::string labelColumn;
  char delimiter = ',';
  // false: the label column holds floating targets (any finite number), read into CsvTable::targets.
  bool classLabels = true;
  // Records skipped before the header (or the first data record): a count line such as sklearn's files have.
  int64_t skipRows = 0;
};

struct CsvTable {
  int64_t rows = 0, features = 0;
  std::vector<std::string> featureNames;  // from the header, or "column N"
  std::vector<float> values;              // rows x features, row-major
  std::vector<int32_t> labels;            // rows (classLabels)
  std::vector<float> targets;             // rows x targetWidth (not classLabels)
  int64_t targetWidth = 1;                // the label columns' count
};

// Reads the whole file. Every problem throws sinter::rt::Error starting "PATH:LINE:COLUMN: " (1-based,
// the column counted in bytes) or "PATH: " when no place applies: unreadable file, no records,
// unterminated quote, a record whose field count differs from the first one's, a non-numeric or
// non-finite feature cell, a label that is not an integer >= 0, an unknown label column.
CsvTable readCsv(const std::string& path, const CsvOptions& options = {});

}  // namespace sinter::rt
