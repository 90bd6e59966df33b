#include "runtime/driver_options.h"

#include "runtime/error.h"
#include "runtime/metrics.h"

#include <sinter/sinter.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <ostream>
#include <string_view>

namespace sinter::rt {
namespace {

bool parseInt(std::string_view s, int64_t min, int64_t& out) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < min) return false;
  out = v;
  return true;
}

bool parseU64(std::string_view s, uint64_t& out) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return false;
  out = v;
  return true;
}

bool parseLr(std::string_view s, float& out) {
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return false;
  if (!std::isfinite(v) || v < 0 || v > std::numeric_limits<float>::max()) return false;
  out = static_cast<float>(v);
  return true;
}

// --metrics-list: comma-separated metric names, each known; the loss is always in the result. An empty
// list means the loss alone.
bool parseMetrics(std::string_view s, int32_t& out) {
  int32_t bits = SINTER_METRIC_LOSS;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    std::string_view name = s.substr(0, comma);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);  // "loss, accuracy" reads as meant
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    const MetricName* known = findMetricName(name);
    if (!known) return false;
    bits |= known->bit;
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
    if (s.empty()) return false;  // a trailing comma
  }
  out = bits;
  return true;
}

std::string metricsText(int32_t bits) {
  std::string s;
  for (const MetricName& n : metricNames())
    if (bits & n.bit) s += (s.empty() ? "" : ",") + std::string(n.name);
  return s;
}

const char* programName(int argc, char** argv, const sinter_model_desc& model) {
  if (argc > 0 && argv[0] && argv[0][0]) return argv[0];
  return model.name ? model.name : "sinter-train";
}

}  // namespace

DriverOptions defaultOptions(const sinter_model_desc& model) {
  DriverOptions o;
  o.epochs = model.train.epochs;
  o.batch = model.train.batch;
  o.lr = model.train.lr;
  o.seed = model.train.seed;
  o.metrics = declaredMetrics(model);
  o.savePath = std::string(model.name && model.name[0] ? model.name : "model") + ".safetensors";
  return o;
}

std::string dataFile(const DriverOptions& opts, const std::string& override, const char* standardName) {
  if (!override.empty()) return override;
  std::string dir = opts.dataDir;
  if (!dir.empty() && dir.back() != '/') dir += '/';
  return dir + standardName;
}

const std::vector<DataFlag>& dataFlags() {
  static const std::vector<DataFlag> flags = {
      {"--data", "DIR", std::string("directory of the four standard IDX files (default ") + kDefaultDataDir + ")"},
      {"--input", "NAME=FILE", "the training data of model input NAME (IDX or .npy), for each input", true},
      {"--test-input", "NAME=FILE", "the test data of model input NAME, for each input", true},
      {"--train-images", "FILE", "default DIR/train-images-idx3-ubyte.gz; a .npy file reads NPY"},
      {"--train-labels", "FILE", "default DIR/train-labels-idx1-ubyte.gz; a .npy file reads NPY"},
      {"--test-images", "FILE", "default DIR/t10k-images-idx3-ubyte.gz"},
      {"--test-labels", "FILE", "default DIR/t10k-labels-idx1-ubyte.gz"},
      {"--train-csv", "FILE", "CSV training data: feature columns and one integer label column"},
      {"--test-csv", "FILE", "CSV test data (optional when training)"},
      {"--label-column", "C", "CSV label column: a header name or a 0-based index (default: the last)"},
      {"--no-header", "", "the CSV files have no header line"},
      {"--delimiter", "C", "CSV field separator (default ,)"},
      {"--skip-rows", "N", "CSV records to skip before the header, such as a count line (default 0)"},
      {"--train-text", "FILE", "UTF-8 text for a language model: windows of token ids and their next characters"},
      {"--test-text", "FILE", "test text (its characters must be in the training text's vocabulary)"},
      {"--normalize", "MODE", "none (default) or standard: per-feature (x - mean) / std of the training set"},
      {"--val-split", "F", "hold out a fraction F in (0, 1) of the training set for validation"},
      {"--limit-train", "N", "use only the first N training samples (default 0 = all)", false, false},
      {"--limit-test", "N", "use only the first N test samples (default 0 = all)", false, false},
      {"--top-k", "K", "top_k_accuracy counts a label among the K largest predictions (default 5)", false, false},
  };
  return flags;
}

const DataFlag* findDataFlag(std::string_view name) {
  for (const DataFlag& f : dataFlags())
    if (f.name == name) return &f;
  return nullptr;
}

std::string setDataFlag(DriverOptions& o, std::string_view flag, const std::string& v) {
  if (flag == "--data") o.dataDir = v;
  else if (flag == "--input" || flag == "--test-input") {
    const size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == v.size()) return "NAME=FILE, a model input and its data";
    (flag == "--input" ? o.trainInputs : o.testInputs).push_back(v);
  } else if (flag == "--train-images") o.trainImages = v;
  else if (flag == "--train-labels") o.trainLabels = v;
  else if (flag == "--test-images") o.testImages = v;
  else if (flag == "--test-labels") o.testLabels = v;
  else if (flag == "--train-csv") o.trainCsv = v;
  else if (flag == "--test-csv") o.testCsv = v;
  else if (flag == "--label-column") o.labelColumn = v;
  else if (flag == "--train-text") o.trainText = v;
  else if (flag == "--test-text") o.testText = v;
  else if (flag == "--no-header") o.csvHeader = false;
  else if (flag == "--delimiter") {
    if (v.size() != 1 || v[0] == '"' || v[0] == '\n') return "one character";
    o.csvDelimiter = v[0];
  } else if (flag == "--normalize") {
    if (v != "none" && v != "standard") return "none or standard";
    o.standardize = v == "standard";
  } else if (flag == "--val-split") {
    float f = 0;
    if (!parseLr(v, f) || !(f > 0 && f < 1)) return "a fraction in (0, 1)";
    o.valSplit = f;
  } else if (flag == "--limit-train") {
    if (!parseInt(v, 0, o.limitTrain)) return "an integer >= 0";
  } else if (flag == "--limit-test") {
    if (!parseInt(v, 0, o.limitTest)) return "an integer >= 0";
  } else if (flag == "--skip-rows") {
    if (!parseInt(v, 0, o.csvSkipRows)) return "an integer >= 0";
  } else if (flag == "--top-k") {
    if (!parseInt(v, 1, o.topK)) return "an integer >= 1";
  } else {
    return "a data flag";  // not in dataFlags(): a caller's bug, reported rather than ignored
  }
  return "";
}

namespace {

// The flag of a command-line argument: "--name" of "--name=value" or "--name".
std::string_view flagOf(std::string_view arg) { return arg.substr(0, arg.find('=')); }

}  // namespace

void applyModelData(const sinter_model_desc& model, const std::vector<std::string_view>& args, DriverOptions& o) {
  if (!model.data_flags) return;
  for (std::string_view a : args)
    if (const DataFlag* f = findDataFlag(flagOf(a)); f && f->source) return;
  for (const char* const* p = model.data_flags; *p; ++p) {
    const std::string_view arg = *p, flag = flagOf(arg);
    const DataFlag* f = findDataFlag(flag);
    const std::string value(arg.size() > flag.size() ? arg.substr(flag.size() + 1) : std::string_view());
    const std::string expected = f && f->source ? setDataFlag(o, flag, value) : "a data flag";
    if (!expected.empty())
      throw Error("model '" + std::string(model.name ? model.name : "") + "': its train block's data setting '" +
                  std::string(arg) + "' is not valid (expected " + expected + "); rebuild it with this sinter");
  }
}

void printUsage(const sinter_model_desc& model, const char* program, std::ostream& os) {
  const DriverOptions d = defaultOptions(model);
  os << "usage: " << program << " [flags]\n"
     << "Trains model '" << (model.name ? model.name : "") << "' on IDX (MNIST format, gzip or plain), NPY, CSV\n"
     << "or text data, evaluates it, checkpoints it (safetensors) and resumes after a crash. See docs/training.md.\n\n"
     << "data:\n";
  if (model.data_flags) {
    os << "  the train block's data settings (any flag below but --limit-* and --top-k replaces them all):\n";
    for (const char* const* p = model.data_flags; *p; ++p) os << "    " << *p << "\n";
  }
  for (const DataFlag& f : dataFlags()) {
    std::string left = f.name + (f.value.empty() ? "" : " " + f.value);
    left.resize(std::max<size_t>(left.size() + 1, 22), ' ');
    os << "  " << left << f.help << "\n";
  }
  os << "training:\n"
     << "  --epochs N            passes over the training set (default " << d.epochs << ")\n"
     << "  --batch N             samples per step (default " << d.batch << ")\n"
     << "  --lr X                base learning rate (default " << d.lr << ")\n"
     << "  --seed N              seed of initialization, shuffling and the split (default " << d.seed << ")\n"
     << "  --eval-every N        evaluate every N epochs and after the last (default 1)\n"
     << "  --metrics-list LIST   what each epoch reports, of " << metricNameList() << "\n"
     << "                        (default " << metricsText(d.metrics) << "; the loss is always reported);\n"
     << "                        --metric LIST is the same flag\n"
     << "  --no-train-acc        skip the training accuracy (saves one forward pass per batch)\n"
     << "  --threads N           threads for the kernels (default: $SINTER_NUM_THREADS, else every hardware\n"
     << "                        thread); results are the same bits for any N\n"
     << "  --no-ftz              keep denormals (default: flush to zero, faster on x86)\n"
     << "several processes (a training executable built with --mpi, under mpirun; docs/distributed.md):\n"
     << "  --deterministic-reduce  sum the gradients of fixed sample chunks in a fixed order: the same bits\n"
     << "                        for any number of processes and threads\n"
     << "  --reduce-chunk N      samples per chunk of --deterministic-reduce (default " << kDefaultReduceChunk << ")\n"
     << "checkpoints and output:\n"
     << "  --checkpoint-dir DIR  keep DIR/checkpoint.safetensors (weights, optimizer state, position)\n"
     << "  --checkpoint-every N  also checkpoint every N optimizer steps (default 0: at epoch ends)\n"
     << "  --resume              continue from DIR/checkpoint.safetensors (needs --checkpoint-dir)\n"
     << "  --save PATH           weights after every epoch (default " << d.savePath << ")\n"
     << "  --no-save             do not write the weights file (same as --save '')\n"
     << "  --load PATH           start from these weights instead of initializing\n"
     << "  --metrics PATH        write one JSON object per epoch (JSON Lines)\n"
     << "  --quiet               print nothing but errors\n"
     << "  --help                print this help\n"
     << "SIGINT and SIGTERM write a checkpoint and stop (exit status 130 and 143).\n";
}

namespace {

// What a flag of the command line asks beyond setting options: help or the version, at once.
struct HelpAsked {};
struct VersionAsked {};

// A flag's value refused: the message is the whole line the user sees.
[[noreturn]] void refuse(const std::string& flag, const std::string& value, const std::string& expected) {
  throw CLI::ValidationError("invalid value '" + value + "' for " + flag + ": expected " + expected);
}

// Adds a flag taking a value, set by `set` as it is parsed (so that, as on any command line, the last of
// --save and --no-save wins); `set` returns "" when done, else what the flag expects.
void addValued(CLI::App& app, const std::string& flag, const std::string& type,
               const std::function<std::string(const std::string&)>& set, bool repeatable = false) {
  auto apply = [flag, set](const std::string& v) {
    if (const std::string e = set(v); !e.empty()) refuse(flag, v, e);
  };
  CLI::Option* opt = nullptr;
  if (repeatable) {
    opt = app.add_option_function<std::vector<std::string>>(
        flag, [apply](const std::vector<std::string>& vs) { std::for_each(vs.begin(), vs.end(), apply); });
    opt->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  } else {
    opt = app.add_option_function<std::string>(flag, apply);
  }
  opt->type_name(type)->trigger_on_parse()->expected(1);
}

void addSwitch(CLI::App& app, const std::string& flag, std::function<void()> set) {
  app.add_flag_callback(flag, std::move(set))->trigger_on_parse()->disable_flag_override();
}

// An integer flag of at least `min`; `max` bounds it too when given.
std::function<std::string(const std::string&)> integer(int64_t& out, int64_t min, int64_t max = 0) {
  return [&out, min, max](const std::string& v) -> std::string {
    int64_t n = 0;
    if (!parseInt(v, min, n) || (max > 0 && n > max))
      return max > 0 ? "an integer from " + std::to_string(min) + " to " + std::to_string(max)
                     : "an integer >= " + std::to_string(min);
    out = n;
    return "";
  };
}

std::function<std::string(const std::string&)> text(std::string& out) {
  return [&out](const std::string& v) {
    out = v;
    return std::string();
  };
}

// Every flag of the driver on `app`, each setting o as it is parsed.
void addDriverFlags(CLI::App& app, DriverOptions& o) {
  addSwitch(app, "-h,--help", [] { throw HelpAsked{}; });
  addSwitch(app, "--version", [] { throw VersionAsked{}; });
  for (const DataFlag& f : dataFlags()) {
    const std::string name = f.name;
    if (f.value.empty()) addSwitch(app, name, [&o, name] { setDataFlag(o, name, ""); });
    else
      addValued(
          app, name, f.value, [&o, name](const std::string& v) { return setDataFlag(o, name, v); }, f.repeatable);
  }
  addValued(app, "--epochs", "N", integer(o.epochs, 1));
  addValued(app, "--batch", "N", integer(o.batch, 1));
  addValued(app, "--eval-every", "N", integer(o.evalEvery, 1));
  addValued(app, "--threads", "N", integer(o.threads, 1, 256));
  addValued(app, "--checkpoint-every", "N", integer(o.checkpointEvery, 0));
  addValued(app, "--reduce-chunk", "N", integer(o.reduceChunk, 1));
  addValued(app, "--seed", "N", [&o](const std::string& v) {
    return parseU64(v, o.seed) ? std::string() : std::string("an unsigned integer");
  });
  addValued(app, "--lr", "X", [&o](const std::string& v) {
    return parseLr(v, o.lr) ? std::string() : std::string("a finite number >= 0");
  });
  for (const char* flag : {"--metrics-list", "--metric"})
    addValued(app, flag, "LIST", [&o](const std::string& v) {
      return parseMetrics(v, o.metrics) ? std::string() : "a comma-separated list of " + metricNameList();
    });
  addValued(app, "--save", "PATH", text(o.savePath));
  addValued(app, "--load", "PATH", text(o.loadPath));
  addValued(app, "--metrics", "PATH", text(o.metricsPath));
  addValued(app, "--checkpoint-dir", "DIR", text(o.checkpointDir));
  addSwitch(app, "--quiet", [&o] { o.quiet = true; });
  addSwitch(app, "--no-ftz", [&o] { o.flushDenormals = false; });
  addSwitch(app, "--no-save", [&o] { o.savePath.clear(); });
  addSwitch(app, "--no-train-acc", [&o] { o.trainAccuracy = false; });
  addSwitch(app, "--resume", [&o] { o.resume = true; });
  addSwitch(app, "--deterministic-reduce", [&o] {
    if (o.reduceChunk == 0) o.reduceChunk = kDefaultReduceChunk;
  });
}

// CLI11's message for a usage error, as one line in the words of the driver's other errors.
std::string usageMessage(const CLI::ParseError& e) {
  std::string m = e.what();
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e) && m.find(" required ") != std::string::npos)
    return "flag " + m.substr(0, m.find(':')) + " needs a value";
  std::replace(m.begin(), m.end(), '\n', ' ');
  return m;
}

// The arguments as CLI11 takes them (reversed), "--flag=" split into "--flag" and an empty value (which CLI11
// would refuse, and --metrics-list= means the loss alone); "" when fine, else the usage error of a switch
// given a value (CLI11 would take --quiet=true).
std::string argumentsFor(const CLI::App& app, int argc, char** argv, std::vector<std::string>& out) {
  for (int i = argc - 1; i >= 1; --i) {
    const std::string a = argv[i] ? argv[i] : "";
    const size_t eq = a.find('=');
    const CLI::Option* opt =
        a.starts_with("--") && eq != std::string::npos ? app.get_option_no_throw(a.substr(0, eq)) : nullptr;
    if (opt && opt->get_expected_max() == 0) return "flag " + a.substr(0, eq) + " takes no value";
    if (opt && eq + 1 == a.size()) {
      out.emplace_back();
      out.push_back(a.substr(0, eq));
    } else out.push_back(a);
  }
  return "";
}

}  // namespace

ParseResult parseOptions(const sinter_model_desc& model, int argc, char** argv, DriverOptions& o, std::ostream& out,
                         std::ostream& err) {
  const char* program = programName(argc, argv, model);
  // One line and a hint, as `sinter` does: the whole usage would bury the message.
  auto fail = [&](const std::string& message) {
    err << "error: " << message << "\nRun '" << program << " --help' for the flags.\n";
    return ParseResult::Error;
  };
  std::vector<std::string_view> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i] ? argv[i] : "");
  try {
    applyModelData(model, args, o);
  } catch (const Error& e) {
    return fail(e.what());
  }
  CLI::App app("Trains model '" + std::string(model.name ? model.name : "") + "'", program);
  app.set_help_flag();  // the driver's own usage (printUsage), which shows the train block's data settings
  app.allow_extras();   // reported below as the driver words them
  addDriverFlags(app, o);
  std::vector<std::string> rest;
  if (const std::string e = argumentsFor(app, argc, argv, rest); !e.empty()) return fail(e);
  try {
    app.parse(rest);
  } catch (const HelpAsked&) {
    printUsage(model, program, out);
    return ParseResult::Help;
  } catch (const VersionAsked&) {
    out << program << " (model " << (model.name ? model.name : "") << "), Sinter runtime " << sinter_version() << "\n";
    return ParseResult::Help;
  } catch (const CLI::ParseError& e) {
    return fail(usageMessage(e));
  }
  if (const std::vector<std::string> extra = app.remaining(); !extra.empty()) {
    const std::string& a = extra.front();
    if (!a.starts_with("-")) return fail("unexpected argument '" + a + "'");
    return fail("unknown flag '" + a.substr(0, a.find('=')) + "'");
  }
  if (o.resume && o.checkpointDir.empty()) return fail("--resume needs --checkpoint-dir DIR");
  if (o.checkpointEvery > 0 && o.checkpointDir.empty()) return fail("--checkpoint-every needs --checkpoint-dir DIR");
  if (!o.testCsv.empty() && o.trainCsv.empty()) return fail("--test-csv needs --train-csv");
  // CSV replaces the IDX and NPY files: a run given both would silently read only the CSV.
  if (!o.trainCsv.empty())
    for (const auto& [flag, value] :
         {std::pair{"--train-images", &o.trainImages}, std::pair{"--train-labels", &o.trainLabels},
          std::pair{"--test-images", &o.testImages}, std::pair{"--test-labels", &o.testLabels}})
      if (!value->empty()) return fail(std::string(flag) + " and --train-csv name two training sets: give one of them");
  return ParseResult::Run;
}

}  // namespace sinter::rt
