// The training driver on a character-level language model written by hand against the ABI: a bigram
// model, logits[b, t] = W[text[b, t]], trained on text files through --train-text. Its per-step targets,
// the per-token accuracy and the perplexity are checked against values derived by hand, and every input
// the driver cannot feed it against its message.
#include "runtime/npy_writer.h"
#include "test_util.h"

#include <sinter/model_abi.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <fstream>
#include <string>
#include <vector>

using namespace sinter::test;

namespace {

constexpr int kSteps = 3, kClasses = 4;

// probs[b, t, c] = softmax(W[text[b, t], :]); returns the mean cross-entropy over every step of every sample.
float bigram(const int32_t* text, const int32_t* next, const float* w, int64_t n, float* probs) {
  double loss = 0;
  for (int64_t k = 0; k < n * kSteps; ++k) {
    const float* row = w + static_cast<int64_t>(text[k]) * kClasses;
    float zmax = row[0], sum = 0;
    for (int c = 1; c < kClasses; ++c) zmax = std::max(zmax, row[c]);
    for (int c = 0; c < kClasses; ++c) sum += (probs[k * kClasses + c] = std::exp(row[c] - zmax));
    for (int c = 0; c < kClasses; ++c) probs[k * kClasses + c] /= sum;
    loss -= std::log(probs[k * kClasses + next[k]]);
  }
  return static_cast<float>(loss / static_cast<double>(n * kSteps));
}

// forward: text, next, W, probs, loss
void forwardFn(void* const* buf, const int64_t* sym) {
  *static_cast<float*>(buf[4]) = bigram(static_cast<const int32_t*>(buf[0]), static_cast<const int32_t*>(buf[1]),
                                        static_cast<const float*>(buf[2]), sym[0], static_cast<float*>(buf[3]));
}

int g_calls = 0, g_raiseAt = -1;  // train_step calls so far; the call (from 0) that raises SIGTERM, as `kill` would

// train_step: text, next, W, loss, dW. d loss / d W[text[k], c] += (probs[k, c] - [c == next[k]]) / (n T).
void trainStepFn(void* const* buf, const int64_t* sym) {
  if (g_calls++ == g_raiseAt) std::raise(SIGTERM);
  const int64_t n = sym[0];
  const auto* text = static_cast<const int32_t*>(buf[0]);
  const auto* next = static_cast<const int32_t*>(buf[1]);
  std::vector<float> probs(static_cast<size_t>(n * kSteps * kClasses));
  *static_cast<float*>(buf[3]) = bigram(text, next, static_cast<const float*>(buf[2]), n, probs.data());
  auto* dw = static_cast<float*>(buf[4]);
  std::fill_n(dw, kClasses * kClasses, 0.0f);
  for (int64_t k = 0; k < n * kSteps; ++k)
    for (int c = 0; c < kClasses; ++c)
      dw[text[k] * kClasses + c] +=
          (probs[k * kClasses + c] - (c == next[k] ? 1.0f : 0.0f)) / static_cast<float>(n * kSteps);
}

const int64_t kSeqDims[] = {-1, kSteps}, kLabelDims[] = {-1}, kWDims[] = {kClasses, kClasses},
              kProbDims[] = {-1, kSteps, kClasses}, kFlatProbDims[] = {-1, kClasses};
const char* const kSyms[] = {"batch"};
const sinter_tensor_desc kInputs[] = {{"text", SINTER_I32, 2, kSeqDims, 0, 0, 0},
                                      {"next", SINTER_I32, 2, kSeqDims, 0, 0, 0}};
const sinter_tensor_desc kParams[] = {{"W", SINTER_F32, 2, kWDims, SINTER_INIT_ZEROS, 0, 0}};
const sinter_tensor_desc kOutputs[] = {{"probs", SINTER_F32, 3, kProbDims, 0, 0, 0},
                                       {"loss", SINTER_F32, 0, nullptr, 0, 0, 0}};

sinter_model_desc bigramModel() {
  sinter_model_desc m{};
  m.abi_version = SINTER_ABI_VERSION;
  m.num_syms = 1;
  m.name = "bigram";
  m.sym_names = kSyms;
  m.num_inputs = 2;
  m.num_params = 1;
  m.num_outputs = 2;
  m.loss_output = 1;
  m.inputs = kInputs;
  m.params = kParams;
  m.outputs = kOutputs;
  m.forward = forwardFn;
  m.train_step = trainStepFn;
  m.has_train = 1;
  m.train.optimizer = SINTER_OPT_SGD;
  m.train.lr = 5.0f;
  m.train.batch = 2;
  m.train.epochs = 30;
  m.train.seed = 3;
  return m;
}

struct Result {
  int rc;
  std::string out, err;
};

Result runDriver(const TempDir& dir, std::vector<std::string> args, const sinter_model_desc& m = bigramModel()) {
  args.insert(args.begin(), "bigram-train");
  args.emplace_back("--no-save");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  Capture cap(dir.file(""));
  const int rc = sinter_train_main(&m, static_cast<int>(args.size()), argv.data());
  cap.stop();
  return {rc, cap.out(), cap.err()};
}

std::string writeText(const TempDir& dir, const std::string& name, const std::string& text) {
  writeBytes(dir.file(name), std::vector<uint8_t>(text.begin(), text.end()));
  return dir.file(name);
}

nlohmann::json lastMetrics(const std::string& path) {
  std::ifstream f(path);
  std::string line, last;
  while (std::getline(f, line)) last = line;
  return nlohmann::json::parse(last);
}

}  // namespace

TEST_CASE("language model: per-step targets, accuracy per token and perplexity, by hand") {
  TempDir dir("lm");
  // "abc" repeated: the vocabulary a, b, c (ids 0, 1, 2) and 7 windows of 3, each "abc" -> "bca".
  const std::string text = writeText(dir, "abc.txt", "abcabcabcabcabcabcabcab");
  const std::string metrics = dir.file("m.jsonl");
  // W = 0 and lr 0: every prediction is uniform over 4 classes, so the loss is ln 4, the perplexity 4, and the
  // argmax is class 0 ('a'), right for one target of the three in each window.
  Result r =
      runDriver(dir, {"--train-text", text, "--test-text", text, "--lr", "0", "--epochs", "1", "--metrics", metrics});
  REQUIRE(r.rc == 0);
  CHECK_THAT(r.out, Catch::Contains("training bigram: 7 samples, batch 2"));
  nlohmann::json m = lastMetrics(metrics);
  CHECK(m["train_loss"].get<double>() == Approx(std::log(4.0)).epsilon(1e-6));
  CHECK(m["train_perplexity"].get<double>() == Approx(4.0).epsilon(1e-6));
  CHECK(m["train_accuracy"].get<double>() == Approx(1.0 / 3.0).epsilon(1e-12));
  CHECK(m["test_loss"].get<double>() == Approx(std::log(4.0)).epsilon(1e-6));
  CHECK(m["test_perplexity"].get<double>() == Approx(4.0).epsilon(1e-6));
  CHECK(m["test_accuracy"].get<double>() == Approx(1.0 / 3.0).epsilon(1e-12));
  CHECK_FALSE(m.contains("test_mae"));

  // Trained, the bigram learns that b follows a, c b and a c: every token right, the perplexity near 1.
  r = runDriver(dir, {"--train-text", text, "--val-split", "0.3", "--metrics", metrics});
  REQUIRE(r.rc == 0);
  m = lastMetrics(metrics);
  CHECK(m["val_accuracy"].get<double>() == 1.0);
  CHECK(m["val_perplexity"].get<double>() < 1.2);
  CHECK(m["train_accuracy"].get<double>() > 0.9);
  CHECK_THAT(r.out, Catch::Contains("training bigram: 5 samples"));  // round(0.3 * 7) = 2 held out
}

TEST_CASE("language model: what the text reader cannot feed is an error naming the file and what would fit") {
  TempDir dir("lm");
  const std::string good = writeText(dir, "good.txt", "abcabcabc");
  auto check = [&](std::vector<std::string> args, const std::string& needle,
                   const sinter_model_desc& m = bigramModel()) {
    const Result r = runDriver(dir, std::move(args), m);
    INFO(needle);
    CHECK(r.rc == 1);
    CHECK_THAT(r.err, Catch::StartsWith("error: ") && Catch::Contains(needle));
  };
  check({"--train-text", writeText(dir, "empty.txt", "")}, "empty.txt: the file is empty");
  check({"--train-text", writeText(dir, "short.txt", "abc")},
        "short.txt has 3 characters, fewer than one window of 3 and its next-character target (4)");
  check({"--train-text", writeText(dir, "latin1.txt", "caf\xE9!")}, "latin1.txt:1:4: not UTF-8 at byte offset 3");
  check({"--train-text", writeText(dir, "five.txt", "abcdeabcde")},
        "five.txt has 5 distinct characters, more than the 4 classes of model output 'probs': give that output (and "
        "the embedding) at least 5 classes");
  check({"--train-text", good, "--test-text", writeText(dir, "other.txt", "abcabd")},
        "other.txt:1:6: character 'd' is not in the vocabulary of " + good);
  check({"--train-text", dir.file("missing.txt")}, "missing.txt");
  check({"--test-text", good}, "--test-text needs --train-text FILE");
  check({"--train-text", good, "--train-csv", good}, "--train-csv and --train-text name two data sets");
  check({"--train-text", good, "--input", "text=" + good}, "--input and --train-text name two data sets");
  check({"--train-text", good, "--normalize", "standard"}, "takes token ids (i32), which are not standardized");

  // Class labels per sample rather than per step: not a language model.
  sinter_model_desc perSample = bigramModel();
  const sinter_tensor_desc labelInputs[] = {kInputs[0], {"next", SINTER_I32, 1, kLabelDims, 0, 0, 0}};
  const sinter_tensor_desc flatOutputs[] = {{"probs", SINTER_F32, 2, kFlatProbDims, 0, 0, 0}, kOutputs[1]};
  perSample.inputs = labelInputs;
  perSample.outputs = flatOutputs;
  check({"--train-text", good}, "--train-text: model 'bigram' is not a character-level language model", perSample);

  // Per-step targets without a prediction per step: the error gives the shape that would fit.
  sinter_model_desc noStepOutput = bigramModel();
  noStepOutput.outputs = flatOutputs;
  check({"--train-text", good},
        "has no prediction output for its per-step target 'next': an f32 output [batch, 3, "
        "classes]",
        noStepOutput);
}

TEST_CASE("language model: per-step labels from NPY files bound by name") {
  TempDir dir("lm");
  const std::string text = dir.file("text.npy"), next = dir.file("next.npy"), metrics = dir.file("m.jsonl");
  sinter::rt::writeNpy(text, {2, 3}, {0, 1, 2, 0, 1, 2});
  sinter::rt::writeNpy(next, {2, 3}, {1, 2, 0, 1, 2, 0});
  Result r = runDriver(
      dir, {"--input", "text=" + text, "--input", "next=" + next, "--lr", "0", "--epochs", "1", "--metrics", metrics});
  REQUIRE(r.rc == 0);
  const nlohmann::json m = lastMetrics(metrics);
  CHECK(m["train_perplexity"].get<double>() == Approx(4.0).epsilon(1e-6));
  CHECK(m["train_accuracy"].get<double>() == Approx(1.0 / 3.0).epsilon(1e-12));

  sinter::rt::writeNpy(next, {2}, {1, 2});
  r = runDriver(dir, {"--input", "text=" + text, "--input", "next=" + next});
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("next.npy: expected labels per time step [n, T, ...], the file has 1 dimension"));
  sinter::rt::writeNpy(next, {2, 2}, {1, 2, 0, 1});
  r = runDriver(dir, {"--input", "text=" + text, "--input", "next=" + next});
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("model input 'next' takes 3 class labels per sample (one a time step), ") &&
                        Catch::Contains("next.npy has 2"));
  sinter::rt::writeNpy(next, {2, 3}, {1, 2, 0, 1, 2, 4});
  r = runDriver(dir, {"--input", "text=" + text, "--input", "next=" + next});
  CHECK(r.rc == 1);
  CHECK_THAT(r.err, Catch::Contains("label 4 of sample 1 (step 2) is out of range: model output 'probs' has 4 "
                                    "classes"));
}

TEST_CASE("language model: a run stopped mid-epoch resumes with its per-token accuracy count") {
  // The running count of right tokens exceeds the samples seen (3 labels a sample): the checkpoint's record
  // must still be accepted, and the resumed run must end where an uninterrupted one does.
  TempDir dir("lm");
  const std::string text = writeText(dir, "abc.txt", "abcabcabcabcabcabcabcab");
  const std::string whole = dir.file("whole.jsonl"), resumed = dir.file("resumed.jsonl"), ckpt = dir.file("ckpt");
  Result r = runDriver(dir, {"--train-text", text, "--epochs", "2", "--metrics", whole});
  REQUIRE(r.rc == 0);
  g_calls = 0;
  g_raiseAt = 6;  // epoch 2 (4 steps an epoch), after its third step
  r = runDriver(dir, {"--train-text", text, "--epochs", "2", "--checkpoint-dir", ckpt, "--metrics", resumed});
  g_raiseAt = -1;
  REQUIRE(r.rc == 143);
  r = runDriver(dir,
                {"--train-text", text, "--epochs", "2", "--checkpoint-dir", ckpt, "--metrics", resumed, "--resume"});
  REQUIRE(r.rc == 0);
  CHECK_THAT(r.out, Catch::Contains("at epoch 2 step 3"));
  const nlohmann::json a = lastMetrics(whole), b = lastMetrics(resumed);
  CHECK(a["train_accuracy"] == b["train_accuracy"]);
  CHECK(a["train_loss"] == b["train_loss"]);
  CHECK(b["train_accuracy"].get<double>() > 0.9);
}
