#include "runtime/splits.h"

#include "runtime/csv_reader.h"
#include "runtime/error.h"
#include "runtime/extra_inputs.h"
#include "runtime/text_reader.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

namespace sinter::rt {
namespace {

std::string str(const char* s) { return s ? s : ""; }

std::string inputList(const sinter_model_desc& m) {
  std::string s;
  for (int32_t i = 0; i < m.num_inputs; ++i) s += (i ? ", " : "") + str(m.inputs[i].name);
  return s;
}

std::string bindingError(const char* flag, const std::string& spec, const std::string& what) {
  return std::string(flag) + " " + spec + ": " + what;
}

std::string boundTwice(const char* flag, const std::string& spec, const std::string& name, const std::string& file,
                       const char* otherFlag) {
  return bindingError(
      flag, spec,
      "input '" + name + "' already has its data (" + file + ", from " + flag + " or " + otherFlag + "): give one");
}

// Binds `specs` (NAME=FILE, from `flag`) to the files of the samples, the target and the extra inputs, where
// the flags named `samplesFlag` and `targetFlag` would put the first two; an input named twice is an error,
// and so is one of the samples and the target left out once the other is bound (both left out: they come
// from those flags or the default files).
void bindSplit(const sinter_model_desc& m, const Layout& l, const std::vector<std::string>& specs, const char* flag,
               std::string& samples, std::string& target, ExtraFiles& extras, const char* samplesFlag,
               const char* targetFlag) {
  if (specs.empty()) return;
  for (const std::string& spec : specs) {
    const size_t eq = spec.find('=');
    const std::string name = spec.substr(0, eq), file = spec.substr(eq + 1);
    int32_t input = -1;
    for (int32_t i = 0; i < m.num_inputs; ++i)
      if (str(m.inputs[i].name) == name) input = i;
    if (input < 0)
      throw Error(bindingError(
          flag, spec, "model '" + str(m.name) + "' has no input '" + name + "'; its inputs are " + inputList(m)));
    if (input != l.imageInput && input != l.labelInput) {
      if (auto [it, fresh] = extras.emplace(input, file); !fresh)
        throw Error(boundTwice(flag, spec, name, it->second, flag));
      continue;
    }
    std::string& slot = input == l.imageInput ? samples : target;
    if (!slot.empty())
      throw Error(boundTwice(flag, spec, name, slot, input == l.imageInput ? samplesFlag : targetFlag));
    slot = file;
  }
  if (samples.empty() != target.empty()) {
    const std::string bound = str(m.inputs[samples.empty() ? l.labelInput : l.imageInput].name);
    const std::string missing = str(m.inputs[samples.empty() ? l.imageInput : l.labelInput].name);
    throw Error(std::string(flag) + " binds input '" + bound + "' but not '" + missing + "': pass " + flag + " " +
                missing + "=FILE too");
  }
}

// Text replaces every other source when either text flag is given.
bool textData(const DriverOptions& o) { return !o.trainText.empty() || !o.testText.empty(); }

// Text and another source at once would leave one of them unread: an error, not a choice.
void checkTextFlags(const DriverOptions& o) {
  if (!textData(o)) return;
  const char* flag = o.trainText.empty() ? "--test-text" : "--train-text";
  for (const auto& [other, set] :
       {std::pair{"--train-csv", !o.trainCsv.empty()}, std::pair{"--test-csv", !o.testCsv.empty()},
        std::pair{"--input", !o.trainInputs.empty()}, std::pair{"--test-input", !o.testInputs.empty()},
        std::pair{"--train-images", !o.trainImages.empty()}, std::pair{"--train-labels", !o.trainLabels.empty()},
        std::pair{"--test-images", !o.testImages.empty()}, std::pair{"--test-labels", !o.testLabels.empty()}})
    if (set) throw Error(std::string(other) + " and " + flag + " name two data sets: give one of them");
  if (o.trainText.empty())
    throw Error("--test-text needs --train-text FILE: the vocabulary is that of the training text");
}

// The flags with --input and --test-input resolved against the model: the samples' and targets' files in
// the places of --train-images and the rest, the extra inputs' files apart.
struct Bound {
  DriverOptions o;
  ExtraFiles trainExtras, testExtras;
};

Bound bindInputs(const sinter_model_desc& m, const Layout& l, const DriverOptions& o) {
  checkTextFlags(o);
  if (!o.trainInputs.empty() && !o.trainCsv.empty())
    throw Error("--input and --train-csv name two training sets: give one of them");
  Bound b{o, {}, {}};
  bindSplit(m, l, o.trainInputs, "--input", b.o.trainImages, b.o.trainLabels, b.trainExtras, "--train-images",
            "--train-labels");
  bindSplit(m, l, o.testInputs, "--test-input", b.o.testImages, b.o.testLabels, b.testExtras, "--test-images",
            "--test-labels");
  return b;
}

// CSV files replace the IDX and NPY files when either CSV flag is given.
bool csvData(const DriverOptions& o) { return !o.trainCsv.empty() || !o.testCsv.empty(); }

LabelKind labelKind(const Layout& l) {
  return l.valueTarget ? LabelKind::Values : l.stepLabels ? LabelKind::StepClasses : LabelKind::Classes;
}

Dataset readCsvSplit(const DriverOptions& o, const Layout& l, const std::string& path) {
  CsvTable t = readCsv(path, CsvOptions{o.csvHeader, o.labelColumn, o.csvDelimiter, !l.valueTarget, o.csvSkipRows});
  Dataset s;
  s.source = path;
  s.n = t.rows;
  s.features = t.features;
  s.shapeText = std::to_string(t.features) + " columns";
  s.values = std::move(t.values);
  s.labels = std::move(t.labels);
  s.targets = std::move(t.targets);
  s.targetWidth = l.valueTarget ? t.targetWidth : 0;
  return s;
}

Dataset readSamples(const Layout& l, const std::string& samples, const std::string& labels) {
  return samples.ends_with(".npy") ? loadNpy(samples, labels, labelKind(l)) : loadIdx(samples, labels, labelKind(l));
}

std::string trainImages(const DriverOptions& o) { return dataFile(o, o.trainImages, "train-images-idx3-ubyte.gz"); }

Dataset readTrainSplit(const DriverOptions& o, const Layout& l) {
  if (csvData(o)) {
    if (o.trainCsv.empty()) throw Error("no training set: pass --train-csv FILE");
    return readCsvSplit(o, l, o.trainCsv);
  }
  return readSamples(l, trainImages(o), dataFile(o, o.trainLabels, "train-labels-idx1-ubyte.gz"));
}

// The test split, when the flags name one: NPY training files make the test files optional (there is no
// standard name to fall back on), and so does CSV.
std::optional<Dataset> readTestSplit(const DriverOptions& o, const Layout& l) {
  if (csvData(o)) {
    if (o.testCsv.empty()) return std::nullopt;
    return readCsvSplit(o, l, o.testCsv);
  }
  if ((trainImages(o).ends_with(".npy") || !o.trainInputs.empty()) && o.testImages.empty()) return std::nullopt;
  return readSamples(l, dataFile(o, o.testImages, "t10k-images-idx3-ubyte.gz"),
                     dataFile(o, o.testLabels, "t10k-labels-idx1-ubyte.gz"));
}

// The text reader feeds a character-level language model only: windows of T token ids and their next
// characters, one class label per step, predicted with a class per vocabulary entry.
void checkTextModel(const sinter_model_desc& m, const Layout& l, const DriverOptions& o) {
  const char* flag = o.trainText.empty() ? "--test-text" : "--train-text";
  const sinter_tensor_desc& samples = m.inputs[l.imageInput];
  if (!l.integerSamples || !l.stepLabels || samples.rank != 2 || l.labelWidth != l.features)
    throw Error(std::string(flag) + ": model '" + str(m.name) +
                "' is not a character-level language model: the text reader feeds windows of T characters as "
                "token ids, an i32 [batch, T] input, then the character after each as a class label per step, an "
                "i32 [batch, T] input, predicted by an output [batch, T, classes]");
}

// The vocabulary must fit the prediction: one class (and one embedding row) per character.
void checkVocabulary(const sinter_model_desc& m, const Layout& l, const Vocabulary& v) {
  if (v.size() > l.classes)
    throw Error(v.source + " has " + std::to_string(v.size()) + " distinct characters, more than the " +
                std::to_string(l.classes) + " classes of model output '" + str(m.outputs[l.predOutput].name) +
                "': give that output (and the embedding) at least " + std::to_string(v.size()) + " classes");
}

struct TextSplits {
  Dataset train;
  std::optional<Dataset> test;
};

// --train-text and --test-text as windows of the model's sequence length, both in the training text's
// vocabulary.
TextSplits readTextSplits(const sinter_model_desc& m, const Layout& l, const DriverOptions& o) {
  checkTextModel(m, l, o);
  const Text train = readText(o.trainText);
  const Vocabulary vocab = Vocabulary::of(train);
  checkVocabulary(m, l, vocab);
  TextSplits t{textWindows(train, vocab, l.features), std::nullopt};
  if (!o.testText.empty()) t.test = textWindows(readText(o.testText), vocab, l.features);
  return t;
}

// Floating targets: as many values per sample as the model's target input takes, for every sample.
void checkTargets(const sinter_model_desc& m, const Layout& l, const Dataset& d, const std::string& file) {
  const std::string input = "model input '" + str(m.inputs[l.labelInput].name) + "'";
  if (d.targetWidth != l.targetWidth)
    throw Error(input + " takes " + std::to_string(l.targetWidth) + " target value" + (l.targetWidth == 1 ? "" : "s") +
                " per sample, " + file + " has " + std::to_string(d.targetWidth) +
                (l.targetWidth == 1 ? " (give targets [n] or [n, 1])" : ""));
  if (static_cast<int64_t>(d.targets.size()) != d.n * d.targetWidth)
    throw Error(d.source + " has " + std::to_string(d.n) + " samples but " + file + " has " +
                std::to_string(d.targets.size() / static_cast<size_t>(std::max<int64_t>(d.targetWidth, 1))) +
                " targets");
}

// Token ids: every value an integer that an i32 holds (IDX bytes always are).
void checkTokens(const sinter_model_desc& m, const Layout& l, const Dataset& d) {
  for (size_t k = 0; k < d.values.size(); ++k) {
    const float v = d.values[k];
    if (v != std::floor(v) || v < -2147483648.0f || v >= 2147483648.0f)
      throw Error(d.source + ": element " + std::to_string(k % static_cast<size_t>(d.features)) + " of sample " +
                  std::to_string(k / static_cast<size_t>(d.features)) + " is " + std::to_string(v) +
                  ", not a token id: model input '" + str(m.inputs[l.imageInput].name) + "' is i32");
  }
}

// Checks a loaded split against the model: features per sample, targets and label range. Applies the limit.
void checkSplit(const sinter_model_desc& m, const Layout& l, Dataset& d, int64_t limit) {
  if (d.features != l.features)
    throw Error(
        "model input '" + str(m.inputs[l.imageInput].name) + "' takes " + std::to_string(l.features) +
        " features per sample, data " + d.source + " has " +
        (d.shapeText == std::to_string(d.features) ? d.shapeText : d.shapeText + "=" + std::to_string(d.features)));
  // The labels' own file when they have one (IDX and NPY keep them apart from the samples).
  const std::string& labelFile = d.labelSource.empty() ? d.source : d.labelSource;
  if (l.valueTarget) checkTargets(m, l, d, labelFile);
  else if (d.labelWidth != l.labelWidth)
    throw Error("model input '" + str(m.inputs[l.labelInput].name) + "' takes " + std::to_string(l.labelWidth) +
                " class labels per sample (one a time step), " + labelFile + " has " + std::to_string(d.labelWidth));
  else if (static_cast<int64_t>(d.labels.size()) != d.n * d.labelWidth)
    throw Error(d.source + " has " + std::to_string(d.n) + " samples but " + d.labelSource + " has " +
                std::to_string(d.labels.size()) + " labels");
  if (limit > 0 && limit < d.n) {
    d.n = limit;
    if (!d.labels.empty()) d.labels.resize(static_cast<size_t>(limit * d.labelWidth));
    d.targets.resize(static_cast<size_t>(limit * d.targetWidth));
    if (!d.pixels.empty()) d.pixels.resize(static_cast<size_t>(limit * d.features));
    if (!d.values.empty()) d.values.resize(static_cast<size_t>(limit * d.features));
    for (ExtraColumn& e : d.extras) e.values.resize(static_cast<size_t>(limit * e.width));
  }
  if (d.n == 0) throw Error(d.source + " holds no samples");
  if (l.integerSamples) checkTokens(m, l, d);
  if (l.valueTarget) return;
  for (int64_t k = 0; k < d.n * d.labelWidth; ++k)
    if (d.labels[k] >= l.classes)
      throw Error(labelFile + ": label " + std::to_string(d.labels[k]) + " of sample " +
                  std::to_string(k / d.labelWidth) +
                  (d.labelWidth > 1 ? " (step " + std::to_string(k % d.labelWidth) + ")" : std::string()) +
                  " is out of range: model output '" + str(m.outputs[l.predOutput].name) + "' has " +
                  std::to_string(l.classes) + " classes (labels 0 to " + std::to_string(l.classes - 1) +
                  "); give that output as many columns as there are classes, or, for a regression, declare "
                  "the target input '" +
                  str(m.inputs[l.labelInput].name) + "' f32 [batch] and minimize a squared error");
}

// Token ids are fed as they are: standardizing them would make them fractional.
void checkNormalize(const sinter_model_desc& m, const Layout& l, const DriverOptions& o) {
  if (o.standardize && l.integerSamples)
    throw Error("--normalize standard: model input '" + str(m.inputs[l.imageInput].name) +
                "' takes token ids (i32), which are not standardized; drop --normalize");
}

// The training split once checked: split for validation, the normalization fitted on what is left.
void splitAndFit(const sinter_model_desc& m, const Layout& l, const DriverOptions& o, Splits& d) {
  checkNormalize(m, l, o);
  if (o.valSplit > 0) {
    Dataset all = std::move(d.train);
    splitValidation(all, o.valSplit, o.seed, d.train, d.val);
    d.hasVal = true;
  }
  if (o.standardize) d.norm = Normalizer::fit(d.train);
}

// CSV and text feed the samples and the target only.
void checkExtrasFed(const sinter_model_desc& m, const Layout& l, const DriverOptions& o) {
  if (l.extras.empty() || (!csvData(o) && !textData(o))) return;
  throw Error("model '" + str(m.name) + "' has extra input '" + str(m.inputs[l.extras[0].input].name) + "': the " +
              (csvData(o) ? "CSV" : "text") +
              " reader feeds only the samples and the target; give every input an NPY or IDX file with --input "
              "NAME=FILE (and --test-input NAME=FILE)");
}

}  // namespace

Splits loadTrainingSplits(const sinter_model_desc& m, const Layout& l, const DriverOptions& flags) {
  const Bound bound = bindInputs(m, l, flags);
  const DriverOptions& o = bound.o;
  checkExtrasFed(m, l, o);
  Splits d;
  if (textData(o)) {
    TextSplits t = readTextSplits(m, l, o);
    d.train = std::move(t.train);
    if (t.test) d.test = std::move(*t.test), d.hasTest = true;
  } else {
    d.train = readTrainSplit(o, l);
    if (std::optional<Dataset> test = readTestSplit(o, l)) d.test = std::move(*test), d.hasTest = true;
  }
  attachExtras(m, l, bound.trainExtras, "--input", d.train);
  checkSplit(m, l, d.train, o.limitTrain);
  if (d.hasTest) {
    attachExtras(m, l, bound.testExtras, "--test-input", d.test);
    checkSplit(m, l, d.test, o.limitTest);
  }
  splitAndFit(m, l, o, d);
  return d;
}

Splits loadTestSplit(const sinter_model_desc& m, const Layout& l, const DriverOptions& flags) {
  const Bound bound = bindInputs(m, l, flags);
  const DriverOptions& o = bound.o;
  checkNormalize(m, l, o);
  checkExtrasFed(m, l, o);
  if (textData(o) && o.testText.empty())
    throw Error(
        "no test text to evaluate: pass --test-text FILE (and the --train-text FILE training read, for its "
        "vocabulary)");
  std::optional<Dataset> test = textData(o) ? readTextSplits(m, l, o).test : readTestSplit(o, l);
  if (!test)
    throw Error(csvData(o) ? "no test set to evaluate: pass --test-csv FILE"
                           : "no test set to evaluate: pass --test-input NAME=FILE for each input (or --test-images "
                             "FILE and --test-labels FILE)");
  Splits d;
  d.test = std::move(*test);
  d.hasTest = true;
  attachExtras(m, l, bound.testExtras, "--test-input", d.test);
  checkSplit(m, l, d.test, o.limitTest);
  if (o.standardize) {
    if (csvData(o) && o.trainCsv.empty())
      throw Error(
          "--normalize standard uses the statistics of the training set: pass --train-csv FILE (with the "
          "--limit-train and --val-split training had)");
    d.train = readTrainSplit(o, l);  // for the samples' statistics only: its extra inputs are not read
    checkSplit(m, l, d.train, o.limitTrain);
    splitAndFit(m, l, o, d);
    d.train = d.val = Dataset{};  // only the statistics are needed
    d.hasVal = false;
  }
  return d;
}

namespace {

void feedSamplesAndTarget(const Dataset& set, const Normalizer& norm, const int64_t* order, int64_t first,
                          int64_t count, const Layout& l, Buffers& b) {
  int32_t* labels = l.valueTarget ? nullptr : b.labels(l);
  void* target = b.inputs[l.labelInput].get();
  if (l.integerSamples) {  // token ids as they are: no scaling, no normalization
    auto* ids = static_cast<int32_t*>(b.images(l));
    for (int64_t i = 0; i < count; ++i) {
      const int64_t k = order ? order[first + i] : first + i;
      for (int64_t j = 0; j < l.features; ++j)
        ids[i * l.features + j] =
            static_cast<int32_t>(set.pixels.empty() ? set.values[k * l.features + j] : set.pixels[k * l.features + j]);
    }
    b.staging.resize(static_cast<size_t>(count * std::max(l.features, l.targetWidth)));
    gather(set, norm, order, first, count, b.staging.data(), labels);  // the labels
    if (l.valueTarget) {
      gatherTargets(set, order, first, count, b.staging.data());
      if (l.dtype == SINTER_F32) std::copy_n(b.staging.begin(), count * l.targetWidth, static_cast<float*>(target));
      else std::copy_n(b.staging.begin(), count * l.targetWidth, static_cast<double*>(target));
    }
    return;
  }
  if (l.dtype == SINTER_F32) {
    gather(set, norm, order, first, count, static_cast<float*>(b.images(l)), labels);
    if (l.valueTarget) gatherTargets(set, order, first, count, static_cast<float*>(target));
    return;
  }
  b.staging.resize(static_cast<size_t>(count * std::max(l.features, l.targetWidth)));
  gather(set, norm, order, first, count, b.staging.data(), labels);
  std::copy(b.staging.begin(), b.staging.begin() + count * l.features, static_cast<double*>(b.images(l)));
  if (!l.valueTarget) return;
  gatherTargets(set, order, first, count, b.staging.data());
  std::copy(b.staging.begin(), b.staging.begin() + count * l.targetWidth, static_cast<double*>(target));
}

}  // namespace

void feedBatch(const Dataset& set, const Normalizer& norm, const int64_t* order, int64_t first, int64_t count,
               const Layout& l, Buffers& b) {
  feedSamplesAndTarget(set, norm, order, first, count, l, b);
  feedExtras(set, order, first, count, l, b);
}

SplitMetrics evaluateSplit(const sinter_model_desc& m, const Layout& l, const Dataset& set, const Normalizer& norm,
                           int64_t batch, int64_t topK, Buffers& b,
                           const std::function<void(int64_t first, int64_t count)>& onBatch) {
  return sumSplit(m, l, set, norm, batch, topK, b, onBatch).result();
}

MetricSums sumSplit(const sinter_model_desc& m, const Layout& l, const Dataset& set, const Normalizer& norm,
                    int64_t batch, int64_t topK, Buffers& b,
                    const std::function<void(int64_t first, int64_t count)>& onBatch) {
  MetricSums sums(l.targetWidth);
  for (int64_t first = 0; first < set.n; first += batch) {
    const int64_t bs = std::min(batch, set.n - first);
    feedBatch(set, norm, nullptr, first, bs, l, b);
    const BatchMetrics e = evaluateBatch(m, nullptr, b.forwardArgs.data(), bs);
    sums.addLoss(e.loss, bs);
    const void* pred = b.outputs[l.predOutput].get();
    if (l.valueTarget) sums.addValues(b.inputs[l.labelInput].get(), pred, l.dtype, bs);
    else sums.addClasses(b.labels(l), pred, l.dtype, l.classes, bs * l.labelWidth, topK);
    if (onBatch) onBatch(first, bs);
  }
  return sums;
}

}  // namespace sinter::rt
