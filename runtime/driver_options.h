// Command-line flags of the training driver (sinter_train_main), parsed with CLI11 (header-only, so the runtime
// links no library for it) into DriverOptions, with the driver's own usage text and one-line errors.
#pragma once

#include <sinter/model_abi.h>

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace sinter::rt {

inline constexpr const char* kDefaultDataDir = "/usr/share/datasets/fashion-mnist";

struct DriverOptions {
  std::string dataDir = kDefaultDataDir;
  // Empty: the standard MNIST file name under dataDir.
  std::string trainImages, trainLabels, testImages, testLabels;
  // --input NAME=FILE and --test-input NAME=FILE as given: model inputs bound by name (splits.h bindInputs).
  std::vector<std::string> trainInputs, testInputs;
  int64_t epochs = 1;
  int64_t batch = 1;
  float lr = 0.0f;
  uint64_t seed = 0;
  int64_t limitTrain = 0;  // 0: all samples
  int64_t limitTest = 0;
  std::string savePath;  // empty: no checkpoint
  std::string loadPath;  // empty: initialize the params
  std::string metricsPath;
  bool quiet = false;
  bool flushDenormals = true;
  // CSV data (instead of IDX or NPY); the label column by name or 0-based index, empty: the last.
  std::string trainCsv, testCsv, labelColumn;
  bool csvHeader = true;
  char csvDelimiter = ',';
  int64_t csvSkipRows = 0;  // records before the header (--skip-rows)
  // Text for a character-level language model (text_reader.h): windows of token ids and their next
  // characters; the vocabulary comes from the training text.
  std::string trainText, testText;
  bool standardize = false;  // --normalize standard
  double valSplit = 0;       // fraction of the training set held out for validation
  int64_t evalEvery = 1;     // evaluate every N epochs (and after the last)
  // Bits of sinter_metric: what each epoch reports (the loss always). From the train block's `metrics` (else
  // the task's), overridden by --metrics-list (or --metric).
  int32_t metrics = SINTER_METRIC_LOSS | SINTER_METRIC_ACCURACY;
  int64_t topK = 5;           // top_k_accuracy's k (--top-k)
  bool trainAccuracy = true;  // --no-train-acc: accuracy (when reported) on the validation and test sets only
  std::string checkpointDir;
  int64_t checkpointEvery = 0;  // optimizer steps between checkpoints; 0: at epoch ends only
  bool resume = false;
  int64_t threads = 0;  // 0: SINTER_NUM_THREADS, else the machine's hardware threads
  // --deterministic-reduce: gradients of fixed chunks of this many samples summed in a fixed order, so that
  // the weights are the same bits for any number of processes (docs/distributed.md); 0: off.
  int64_t reduceChunk = 0;
};

// The sample chunk of --deterministic-reduce when --reduce-chunk is not given.
inline constexpr int64_t kDefaultReduceChunk = 16;

enum class ParseResult { Run, Help, Error };

// Defaults come from the model's training configuration; `save` defaults to "<model name>.safetensors".
DriverOptions defaultOptions(const sinter_model_desc& model);

// Parses argv[1..argc) into opts (which holds the defaults), flags applied in command-line order (the last of
// --save and --no-save wins). `--flag value` and `--flag=value` both work. Help: the usage (--help, -h) or
// the version (--version) went to `out`. Error: one line and a hint went to `err`.
ParseResult parseOptions(const sinter_model_desc& model, int argc, char** argv, DriverOptions& opts, std::ostream& out,
                         std::ostream& err);

void printUsage(const sinter_model_desc& model, const char* program, std::ostream& os);

// The flags that choose and prepare the data, one table for the training driver's parser and usage and for
// `sinter run`, which reads its test set exactly as training does.
struct DataFlag {
  std::string name;         // "--data"
  std::string value;        // what it takes, as the usage shows it ("DIR"); empty for a switch
  std::string help;         // one line
  bool repeatable = false;  // may be given more than once, each adding a value
  // Names or prepares the data itself (not --limit-*, --top-k): a train block's `data` may set it, and
  // one on the command line replaces all of the block's.
  bool source = true;
};
const std::vector<DataFlag>& dataFlags();
const DataFlag* findDataFlag(std::string_view name);

// Applies data flag `name` with `value` ("" for a switch) to opts. Returns "" when done, else what the
// flag expects ("an integer >= 0"); opts is then unchanged.
std::string setDataFlag(DriverOptions& opts, std::string_view name, const std::string& value);

// Applies the train block's data flags (sinter_model_desc.data_flags) to opts, unless `args` (a command
// line, without the program name) gives a data source flag of its own: those then replace them all. Throws
// Error for a flag the table does not know or a value it refuses (the compiler checks both first).
void applyModelData(const sinter_model_desc& model, const std::vector<std::string_view>& args, DriverOptions& opts);

// The file a split reads: the override when given, else dataDir/<standard name>.
std::string dataFile(const DriverOptions& opts, const std::string& override, const char* standardName);

}  // namespace sinter::rt
