#include "runtime/driver_options.h"

#include <charconv>
#include <cmath>
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
  o.savePath = std::string(model.name && model.name[0] ? model.name : "model") + ".safetensors";
  return o;
}

std::string dataFile(const DriverOptions& opts, const std::string& override, const char* standardName) {
  if (!override.empty()) return override;
  std::string dir = opts.dataDir;
  if (!dir.empty() && dir.back() != '/') dir += '/';
  return dir + standardName;
}

void printUsage(const sinter_model_desc& model, const char* program, std::ostream& os) {
  const DriverOptions d = defaultOptions(model);
  os << "usage: " << program << " [flags]\n"
     << "Trains model '" << (model.name ? model.name : "") << "' on IDX data (MNIST format, gzip or plain),\n"
     << "evaluates it on the test set after every epoch and checkpoints its weights (safetensors).\n\n"
     << "  --data DIR            directory of the four standard files (default " << kDefaultDataDir << ")\n"
     << "  --train-images FILE   default DIR/train-images-idx3-ubyte.gz\n"
     << "  --train-labels FILE   default DIR/train-labels-idx1-ubyte.gz\n"
     << "  --test-images FILE    default DIR/t10k-images-idx3-ubyte.gz\n"
     << "  --test-labels FILE    default DIR/t10k-labels-idx1-ubyte.gz\n"
     << "  --epochs N            passes over the training set (default " << d.epochs << ")\n"
     << "  --batch N             samples per step (default " << d.batch << ")\n"
     << "  --lr X                learning rate (default " << d.lr << ")\n"
     << "  --seed N              seed of initialization and shuffling (default " << d.seed << ")\n"
     << "  --limit-train N       use only the first N training samples (default 0 = all)\n"
     << "  --limit-test N        use only the first N test samples (default 0 = all)\n"
     << "  --save PATH           checkpoint after every epoch (default " << d.savePath << ")\n"
     << "  --no-save             do not checkpoint (same as --save '')\n"
     << "  --load PATH           start from these weights instead of initializing\n"
     << "  --metrics PATH        write one JSON object per epoch (JSON Lines)\n"
     << "  --quiet               print nothing but errors\n"
     << "  --no-ftz              keep denormals (default: flush to zero, faster on x86)\n"
     << "  --help                print this help\n";
}

ParseResult parseOptions(const sinter_model_desc& model, int argc, char** argv, DriverOptions& o, std::ostream& out,
                         std::ostream& err) {
  const char* program = programName(argc, argv, model);
  auto fail = [&](const std::string& message) {
    err << "error: " << message << "\n\n";
    printUsage(model, program, err);
    return ParseResult::Error;
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i] ? argv[i] : "";
    if (arg == "--help" || arg == "-h") {
      printUsage(model, program, out);
      return ParseResult::Help;
    }
    if (arg == "--quiet" || arg == "--no-ftz" || arg == "--no-save") {
      if (arg == "--quiet") o.quiet = true;
      if (arg == "--no-ftz") o.flushDenormals = false;
      if (arg == "--no-save") o.savePath.clear();
      continue;
    }
    if (!arg.starts_with("--")) return fail("unexpected argument '" + std::string(arg) + "'");
    std::string_view flag = arg, value;
    bool hasValue = false;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      hasValue = true;
    }
    static constexpr std::string_view valued[] = {"--data", "--train-images", "--train-labels", "--test-images",
                                                  "--test-labels", "--epochs", "--batch", "--lr", "--seed",
                                                  "--limit-train", "--limit-test", "--save", "--load", "--metrics"};
    bool known = false;
    for (std::string_view v : valued) known = known || v == flag;
    if (!known) {
      if (flag == "--quiet" || flag == "--no-ftz" || flag == "--no-save" || flag == "--help")
        return fail("flag " + std::string(flag) + " takes no value");
      return fail("unknown flag '" + std::string(flag) + "'");
    }
    if (!hasValue) {
      if (i + 1 >= argc || !argv[i + 1]) return fail("flag " + std::string(flag) + " needs a value");
      value = argv[++i];
    }
    const std::string v(value);
    auto badValue = [&](const char* what) {
      return fail("invalid value '" + v + "' for " + std::string(flag) + ": expected " + what);
    };
    if (flag == "--data") o.dataDir = v;
    else if (flag == "--train-images") o.trainImages = v;
    else if (flag == "--train-labels") o.trainLabels = v;
    else if (flag == "--test-images") o.testImages = v;
    else if (flag == "--test-labels") o.testLabels = v;
    else if (flag == "--save") o.savePath = v;
    else if (flag == "--load") o.loadPath = v;
    else if (flag == "--metrics") o.metricsPath = v;
    else if (flag == "--epochs") { if (!parseInt(v, 1, o.epochs)) return badValue("an integer >= 1"); }
    else if (flag == "--batch") { if (!parseInt(v, 1, o.batch)) return badValue("an integer >= 1"); }
    else if (flag == "--limit-train") { if (!parseInt(v, 0, o.limitTrain)) return badValue("an integer >= 0"); }
    else if (flag == "--limit-test") { if (!parseInt(v, 0, o.limitTest)) return badValue("an integer >= 0"); }
    else if (flag == "--seed") { if (!parseU64(v, o.seed)) return badValue("an unsigned integer"); }
    else if (flag == "--lr") { if (!parseLr(v, o.lr)) return badValue("a finite number >= 0"); }
  }
  return ParseResult::Run;
}

}  // namespace sinter::rt
