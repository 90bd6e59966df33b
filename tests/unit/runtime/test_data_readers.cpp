// The CSV and NPY readers (and the NPY writer) on well-formed files, on a real CSV from a Debian package, and on a corpus of
// broken files: each must fail with the file and the place (line:column or byte offset), never crash.
#include "runtime/csv_reader.h"
#include "runtime/dataset.h"
#include "runtime/error.h"
#include "runtime/idx_reader.h"
#include "runtime/npy_reader.h"
#include "runtime/npy_writer.h"
#include "test_util.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

using namespace sinter::rt;
using namespace sinter::test;

namespace {

std::string writeText(const TempDir& dir, const std::string& name, const std::string& text) {
  const std::string path = dir.file(name);
  writeBytes(path, std::vector<uint8_t>(text.begin(), text.end()));
  return path;
}

std::string csvError(const std::string& path, const CsvOptions& o = {}) {
  try {
    readCsv(path, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// An NPY file: magic, version 1.0, header padded to a multiple of 64 with a final newline, data.
std::vector<uint8_t> npyBytes(const std::string& descr, const std::string& shape, const void* data, size_t bytes,
                              int major = 1, bool fortran = false) {
  std::string h =
      "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shape + ", }";
  const size_t pre = major == 1 ? 10 : 12;
  while ((pre + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  const size_t len = h.size();
  out.push_back(static_cast<uint8_t>(len));
  out.push_back(static_cast<uint8_t>(len >> 8));
  if (major > 1) out.push_back(0), out.push_back(0);
  out.insert(out.end(), h.begin(), h.end());
  const auto* p = static_cast<const uint8_t*>(data);
  out.insert(out.end(), p, p + bytes);
  return out;
}

// The message of the Error `f` throws.
template <class F>
std::string loadError(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string npyError(const std::string& path) {
  try {
    readNpy(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("csv: header, label column by name or index, quoted fields, CRLF and blank lines") {
  TempDir dir("csv");
  const std::string path = writeText(dir, "a.csv",
                                     "\"sepal, length\",kind,width\r\n"
                                     "1.5,2,\"-3\"\r\n"
                                     "\r\n"
                                     "  4e-1 ,0, +7\n"
                                     "\"5\",1,\"6\"\n");
  const CsvTable t = readCsv(path, {true, "kind", ','});
  CHECK(t.rows == 3);
  CHECK(t.features == 2);
  CHECK(t.featureNames == std::vector<std::string>{"sepal, length", "width"});
  CHECK(t.values == std::vector<float>{1.5f, -3.0f, 0.4f, 7.0f, 5.0f, 6.0f});
  CHECK(t.labels == std::vector<int32_t>{2, 0, 1});
  CHECK(readCsv(path, {true, "1", ','}).labels == t.labels);

  // Without a header every record is data; the default label column is the last; ';' as delimiter.
  const std::string plain = writeText(dir, "b.csv", "1;2;0\n3;4;1.0\n");
  const CsvTable p = readCsv(plain, {false, "", ';'});
  CHECK(p.rows == 2);
  CHECK(p.labels == std::vector<int32_t>{0, 1});
  CHECK(p.featureNames[0] == "column 0");
}

TEST_CASE("csv: floating targets, and records skipped before the header") {
  TempDir dir("csv");
  // sklearn's layout: a count line, the header, then data whose target is not an integer.
  const std::string path = writeText(dir, "r.csv", "2,1,,\na,price\n1,21.5\n2,-3e-1\n");
  CsvOptions o{true, "", ','};
  o.classLabels = false;
  o.skipRows = 1;
  const CsvTable t = readCsv(path, o);
  CHECK(t.rows == 2);
  CHECK(t.featureNames == std::vector<std::string>{"a"});
  CHECK(t.targets == std::vector<float>{21.5f, -0.3f});
  CHECK(t.labels.empty());
  o.classLabels = true;  // the same column as class labels: the error says where and what would read it
  CHECK_THAT(csvError(path, o), Catch::Contains("r.csv:3:3: label '21.5' in column 'price' is not a class index") &&
                                    Catch::Contains("f32 [batch]"));
  o.classLabels = false;
  o.skipRows = 0;  // the count line is then the header
  CHECK_THAT(csvError(path, o), Catch::Contains("r.csv:2:1: expected 4 fields, found 2"));
  o.skipRows = 4;
  CHECK_THAT(csvError(path, o), Catch::Contains("no records after the 4 skipped (--skip-rows)"));
  o.skipRows = 0;
  const std::string bad = writeText(dir, "b.csv", "a,y\n1,nan\n");
  CHECK_THAT(csvError(bad, o), Catch::Contains("b.csv:2:3: target 'nan' in column 'y' is not a finite number"));
}

TEST_CASE("csv: a group of label columns is a floating target's, its values in the group's order") {
  TempDir dir("csv");
  const std::string path = writeText(dir, "g.csv", "y1,a,y2,\"b,c\"\n1,2,3,4\n5,6,7,8\n");
  CsvOptions o{true, "y2,y1", ','};
  o.classLabels = false;
  const CsvTable t = readCsv(path, o);
  CHECK(t.targetWidth == 2);
  CHECK(t.targets == std::vector<float>{3, 1, 7, 5});
  CHECK(t.features == 2);
  CHECK(t.values == std::vector<float>{2, 4, 6, 8});
  o.labelColumn = "0,2";  // by index
  CHECK(readCsv(path, o).targets == std::vector<float>{1, 3, 5, 7});
  o.labelColumn = "b,c";  // a header name holding a comma is that column
  CHECK(readCsv(path, o).targets == std::vector<float>{4, 8});
  o.labelColumn = "y1,y1";
  CHECK_THAT(csvError(path, o), Catch::Contains("label column 'y1' is listed twice"));
  o.labelColumn = "y1,z";
  CHECK_THAT(csvError(path, o), Catch::Contains("no column named 'z'"));
  o.labelColumn = "y1,a,y2,3";
  CHECK_THAT(csvError(path, o), Catch::Contains("leave no feature column"));
  o.labelColumn = "y1,y2";
  o.classLabels = true;
  CHECK_THAT(csvError(path, o), Catch::Contains("are 2 columns; class labels take one") &&
                                    Catch::Contains("floating target input [batch, 2]"));
}

TEST_CASE("csv: a quoted field may span lines and hold doubled quotes") {
  TempDir dir("csv");
  const std::string path = writeText(dir, "q.csv", "\"a \"\"x\"\"\nb\",y\n1,0\n");
  const CsvTable t = readCsv(path);
  CHECK(t.featureNames[0] == "a \"x\"\nb");
  CHECK(t.rows == 1);
}

TEST_CASE("csv: the real iris.csv of python3-sklearn") {
  const std::string iris = "/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv";
  if (!std::filesystem::exists(iris)) {
    WARN("python3-sklearn is not installed: skipping " << iris);
    return;
  }
  // Its first line is "150,4,setosa,versicolor,virginica": a header of five names for five columns.
  const CsvTable t = readCsv(iris);
  CHECK(t.rows == 150);
  CHECK(t.features == 4);
  CHECK(t.values[0] == 5.1f);
  CHECK(t.labels[0] == 0);
  CHECK(t.labels[149] == 2);
}

TEST_CASE("csv: broken files name the file, line and column") {
  TempDir dir("csv");
  struct Case {
    const char* text;
    const char* needle;
  };
  const Case cases[] = {
      {"", "no records (empty file)"},
      {"a,b\n", "no data records after the header"},
      {"a,b\n1,0\n2\n", "b.csv:3:1: expected 2 fields, found 1"},
      {"a,b,c\n1,x2,0\n", "b.csv:2:3: non-numeric cell 'x2' in column 'b'"},
      {"a,b\n1,\n", "b.csv:2:3: label '' in column 'b' is not a class index"},
      {"a,b\n,1\n", "b.csv:2:1: empty cell in column 'a'"},
      {"a,b\n1,-1\n", "b.csv:2:3: label '-1'"},
      {"a,b\n1,0.5\n", "label '0.5'"},
      {"a,b\nnan,1\n", "b.csv:2:1: non-numeric cell 'nan'"},
      {"a,b\n1e999,1\n", "non-numeric cell '1e999'"},
      {"a,b\n\"1,0\n", "b.csv:2:1: unterminated quoted field"},
      {"a,b\n\"1\"x,0\n", "b.csv:2:4: unexpected 'x' after a quoted field"},
      {"a\n1\n", "expected at least two columns"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    const std::string path = writeText(dir, "b.csv", c.text);
    CHECK_THAT(csvError(path), Catch::Contains(c.needle) && Catch::StartsWith(path));
  }
  const std::string ok = writeText(dir, "ok.csv", "a,b\n1,0\n");
  CHECK_THAT(csvError(ok, {true, "label", ','}), Catch::Contains("no column named 'label'; the header has 'a', 'b'"));
  CHECK_THAT(csvError(ok, {true, "7", ','}), Catch::Contains("label column 7 is out of range"));
  CHECK_THAT(csvError(dir.file("absent.csv")), Catch::Contains("absent.csv: cannot open"));
}

TEST_CASE("npy: f4, f8, u1 and i8 arrays, versions 1 and 2") {
  TempDir dir("npy");
  const float f[] = {1.5f, -2.0f, 3.0f, 4.0f, 5.0f, 6.0f};
  writeBytes(dir.file("f.npy"), npyBytes("<f4", "(2, 3)", f, sizeof f));
  const NpyArray a = readNpy(dir.file("f.npy"));
  CHECK(a.shape == std::vector<int64_t>{2, 3});
  CHECK(a.values == std::vector<float>(f, f + 6));
  const double d[] = {0.25, 1e300};
  writeBytes(dir.file("d.npy"), npyBytes("<f8", "(2,)", d, sizeof d, 2));
  CHECK(readNpy(dir.file("d.npy")).values[0] == 0.25f);
  const uint8_t u[] = {0, 255};
  writeBytes(dir.file("u.npy"), npyBytes("|u1", "(2,)", u, sizeof u));
  CHECK(readNpy(dir.file("u.npy")).values == std::vector<float>{0.0f, 255.0f});
  const int64_t l[] = {2, 0, 1};
  writeBytes(dir.file("l.npy"), npyBytes("<i8", "(3,)", l, sizeof l));
  CHECK(readNpy(dir.file("l.npy")).values == std::vector<float>{2.0f, 0.0f, 1.0f});

  // As a dataset: samples [2, 3] with labels [2].
  const int64_t y[] = {1, 0};
  writeBytes(dir.file("y.npy"), npyBytes("<i8", "(2,)", y, sizeof y));
  const Dataset ds = loadNpy(dir.file("f.npy"), dir.file("y.npy"));
  CHECK(ds.n == 2);
  CHECK(ds.features == 3);
  CHECK(ds.labels == std::vector<int32_t>{1, 0});

  // Floating targets [n, k] for a model whose target input is floating: any finite values.
  const float t[] = {0.5f, -1, 2.25f, 3};
  writeBytes(dir.file("t.npy"), npyBytes("<f4", "(2, 2)", t, sizeof t));
  const Dataset r = loadNpy(dir.file("f.npy"), dir.file("t.npy"), LabelKind::Values);
  CHECK(r.targetWidth == 2);
  CHECK(r.targets == std::vector<float>(t, t + 4));
  CHECK(r.labels.empty());
  CHECK_THAT(loadError([&] { loadNpy(dir.file("f.npy"), dir.file("t.npy")); }),
             Catch::Contains("expected labels [n], the file has 2 dimensions") &&
                 Catch::Contains("floating takes targets [n, ...]"));
  const float inf[] = {1, INFINITY};
  writeBytes(dir.file("inf.npy"), npyBytes("<f4", "(2,)", inf, sizeof inf));
  CHECK_THAT(loadError([&] { loadNpy(dir.file("f.npy"), dir.file("inf.npy"), LabelKind::Values); }),
             Catch::Contains("target element 1 (sample 1) is not finite"));
}

TEST_CASE("npy: broken files name the file and the byte offset") {
  TempDir dir("npy");
  const float f[] = {1, 2, 3, 4};
  struct Case {
    std::vector<uint8_t> bytes;
    const char* needle;
  };
  std::vector<uint8_t> truncated = npyBytes("<f4", "(2, 2)", f, sizeof f);
  truncated.erase(truncated.end() - 3, truncated.end());  // (resize() here trips a false GCC 12 warning under ASan)
  std::vector<uint8_t> longer = npyBytes("<f4", "(2, 2)", f, sizeof f);
  longer.push_back(0);
  std::vector<uint8_t> badLen = npyBytes("<f4", "(2, 2)", f, sizeof f);
  badLen[8] = 0xff, badLen[9] = 0xff;
  std::vector<uint8_t> badVersion = npyBytes("<f4", "(2, 2)", f, sizeof f);
  badVersion[6] = 9;
  const std::vector<Case> cases = {
      {{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0, 0, 0}, "byte 0: not an NPY file"},
      {badVersion, "byte 6: unsupported NPY version 9"},
      {badLen, "byte 8: header length 65535 runs past the end"},
      {truncated, "expected 16 bytes of data for shape (2, 2) <f4, file has 13 (truncated)"},
      {longer, "file has 17 (trailing bytes)"},
      {npyBytes(">f4", "(2, 2)", f, sizeof f), "big-endian dtype '>f4'"},
      {npyBytes("<c8", "(2,)", f, 16), "unsupported dtype '<c8'"},
      {npyBytes("<f4", "(2, 2)", f, sizeof f, 1, true), "Fortran-order"},
      {npyBytes("<f4", "[2, 2]", f, sizeof f), "malformed 'shape'"},
      {npyBytes("<f4", "(99999999999, 99999999999)", f, sizeof f), "too large"},
  };
  for (const Case& c : cases) {
    INFO(c.needle);
    writeBytes(dir.file("x.npy"), c.bytes);
    CHECK_THAT(npyError(dir.file("x.npy")), Catch::Contains(c.needle) && Catch::StartsWith(dir.file("x.npy")));
  }
  // Labels that are not class indices.
  const float bad[] = {0.5f, 1.0f};
  writeBytes(dir.file("f.npy"), npyBytes("<f4", "(2, 2)", f, sizeof f));
  writeBytes(dir.file("y.npy"), npyBytes("<f4", "(2,)", bad, sizeof bad));
  CHECK_THROWS_WITH(loadNpy(dir.file("f.npy"), dir.file("y.npy")),
                    Catch::Contains("label 0.5") && Catch::Contains("of sample 0"));
}

TEST_CASE("npy writer: what it writes reads back, header aligned to 64 bytes, failures name the file") {
  TempDir dir("npyw");
  const std::vector<float> v = {0.5f, -1.0f, 3.25f, 1e-30f, 7.0f, 8.0f};
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{2, 3}, {6}, {1, 2, 3}}) {
    writeNpy(dir.file("p.npy"), shape, v);
    const NpyArray a = readNpy(dir.file("p.npy"));
    CHECK(a.descr == "<f4");
    CHECK(a.shape == shape);
    CHECK(a.values == v);
    CHECK(std::filesystem::file_size(dir.file("p.npy")) % 64 == v.size() * sizeof(float) % 64);
  }
  CHECK(!std::filesystem::exists(dir.file("p.npy.tmp")));
  CHECK_THROWS_WITH(writeNpy(dir.file("p.npy"), {4}, v), Catch::Contains("6 values do not fill the array's 4"));
  CHECK_THROWS_WITH(writeNpy(dir.file("absent/p.npy"), {6}, v),
                    Catch::Contains("cannot write '" + dir.file("absent/p.npy")));
}

TEST_CASE("dataset: per-epoch orders are permutations computable on their own, the split is seeded") {
  const auto a = epochOrder(100, 7, 0), b = epochOrder(100, 7, 1), a2 = epochOrder(100, 7, 0);
  CHECK(a == a2);
  CHECK(a != b);
  auto sorted = b;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) CHECK(sorted[i] == i);

  Dataset all;
  all.source = "mem";
  all.n = 10;
  all.features = 1;
  for (int i = 0; i < 10; ++i) all.values.push_back(static_cast<float>(i)), all.labels.push_back(i % 2);
  Dataset train, val;
  splitValidation(all, 0.3, 5, train, val);
  CHECK(val.n == 3);
  CHECK(train.n == 7);
  CHECK(std::is_sorted(val.values.begin(), val.values.end()));  // file order kept
  Dataset train2, val2;
  splitValidation(all, 0.3, 5, train2, val2);
  CHECK(val2.values == val.values);
  CHECK_THROWS_WITH(splitValidation(all, 0.01, 5, train, val), Catch::Contains("no validation samples"));

  // Standardization: mean 0, std 1 per feature on the training set.
  const Normalizer z = Normalizer::fit(all);
  CHECK(z.mean[0] == Approx(4.5));
  std::vector<float> x(10);
  std::vector<int32_t> y(10);
  gather(all, z, nullptr, 0, 10, x.data(), y.data());
  double s = 0, s2 = 0;
  for (float v : x) s += v, s2 += static_cast<double>(v) * v;
  CHECK(s / 10 == Approx(0.0).margin(1e-6));
  CHECK(s2 / 10 == Approx(1.0).epsilon(1e-5));
}

TEST_CASE("npy and csv: every truncation of a valid file is an error or a shorter table, never a crash") {
  TempDir dir("trunc");
  const float f[] = {1, 2, 3, 4, 5, 6};
  const std::vector<uint8_t> npy = npyBytes("<f4", "(3, 2)", f, sizeof f);
  for (size_t n = 0; n < npy.size(); ++n) {
    writeBytes(dir.file("t.npy"), std::vector<uint8_t>(npy.begin(), npy.begin() + static_cast<long>(n)));
    INFO("first " << n << " bytes");
    CHECK_THROWS_AS(readNpy(dir.file("t.npy")), Error);
  }
  const std::string csv = "a,\"b c\",label\n1.5,2,0\n3,\"4\",1\n";
  for (size_t n = 0; n < csv.size(); ++n) {
    writeBytes(dir.file("t.csv"), std::vector<uint8_t>(csv.begin(), csv.begin() + static_cast<long>(n)));
    INFO("first " << n << " bytes");
    try {
      const CsvTable t = readCsv(dir.file("t.csv"));
      CHECK(t.rows >= 1);  // a cut after a complete record is a valid, shorter file
    } catch (const Error& e) {
      CHECK_THAT(std::string(e.what()), Catch::StartsWith(dir.file("t.csv")));
    }
  }
}

TEST_CASE("readers: a directory given as a data file is named as such") {
  TempDir dir("dirs");
  const std::string d = dir.file("data.csv");
  std::filesystem::create_directories(d);
  CHECK(csvError(d) == d + ": is a directory, not a file");
  CHECK(npyError(d) == d + ": is a directory, not a file");
  CHECK_THROWS_WITH(readIdx(d), d + ": is a directory, not a file");
}

TEST_CASE("csv: a NUL or another control byte in a cell is shown escaped, and the message goes on") {
  TempDir dir("csv");
  const std::string path = writeText(dir, "nul.csv", std::string("a,b\n1,2\n3\0x,1\n", 15));
  CHECK(csvError(path) == path + ":3:1: non-numeric cell '3\\x00x' in column 'a'");
  const std::string esc = writeText(dir, "esc.csv", "a,b\n\x1b[2J,1\n");
  CHECK_THAT(csvError(esc), Catch::Contains("'\\x1b[2J'") && Catch::EndsWith("in column 'a'"));
}
