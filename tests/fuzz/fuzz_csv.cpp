// libFuzzer target for the CSV reader. The first byte picks the options (header or not, the delimiter,
// the label column by name, by index or the default); the rest is the file. Any bytes give a table whose
// sizes agree, or a sinter::rt::Error.
#include "fuzz_input.h"
#include "runtime/csv_reader.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t pick = data[0];
  static const char kDelimiters[] = {',', ';', '\t', ' '};
  static const char* const kLabels[] = {"", "label", "0", "1"};
  sinter::rt::CsvOptions o;
  o.header = (pick & 1) != 0;
  o.delimiter = kDelimiters[(pick >> 1) & 3];
  o.labelColumn = kLabels[(pick >> 3) & 3];
  const std::string path = sinter::fuzz::writeInput(data + 1, size - 1, ".csv");
  try {
    const sinter::rt::CsvTable t = sinter::rt::readCsv(path, o);
    if (t.values.size() != static_cast<std::size_t>(t.rows * t.features) ||
        t.labels.size() != static_cast<std::size_t>(t.rows))
      __builtin_trap();
  } catch (const sinter::rt::Error&) {
  }
  return 0;
}
