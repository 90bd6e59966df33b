// The training driver's test fixture: softmax regression from 2x2 "images" to 3 classes, written by hand
// against the ABI, trained on tiny synthetic linearly separable IDX files; what the driver did is observed
// from inside the model. Each test file that includes it gets its own copy (an unnamed namespace).
#pragma once

#include "runtime/checkpoint.h"
#include "test_util.h"

#include <sinter/model_abi.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <vector>


using namespace sinter::test;

namespace {

constexpr int kFeatures = 4, kClasses = 3;

// What the driver did, observed from inside the model.
std::vector<int64_t> g_trainBatches, g_forwardBatches;
std::vector<float> g_trainPixels;  // pixel 0 of every sample train_step saw, in order
bool g_poisonLoss = false;
int g_poisonGradAt = -1;  // the train_step call (from 0) whose db gets a NaN
int g_raiseAt = -1;       // the train_step call (from 0) that raises SIGTERM, as `kill` would
// Called at the start of every train_step with the call's number (from 0), when set.
std::function<void(int)> g_onTrainStep;
// Replaces the loss train_step reports (call number from 0, true loss), when set.
std::function<float(int, float)> g_lossHook;

// probs[n, c] = softmax(x W + b); returns the mean cross-entropy against y.
float softmaxRegression(const float* x, const int32_t* y, const float* w, const float* b, int64_t n, float* probs) {
  double loss = 0;
  for (int64_t s = 0; s < n; ++s) {
    float z[kClasses];
    float zmax = -INFINITY;
    for (int c = 0; c < kClasses; ++c) {
      z[c] = b[c];
      for (int i = 0; i < kFeatures; ++i) z[c] += x[s * kFeatures + i] * w[i * kClasses + c];
      zmax = std::max(zmax, z[c]);
    }
    float sum = 0;
    for (int c = 0; c < kClasses; ++c) sum += (probs[s * kClasses + c] = std::exp(z[c] - zmax));
    for (int c = 0; c < kClasses; ++c) probs[s * kClasses + c] /= sum;
    loss -= std::log(probs[s * kClasses + y[s]]);
  }
  return static_cast<float>(loss / static_cast<double>(n));
}

// forward: x, y, W, b, probs, loss
void forwardFn(void* const* buf, const int64_t* sym) {
  g_forwardBatches.push_back(sym[0]);
  auto* loss = static_cast<float*>(buf[5]);
  *loss = softmaxRegression(static_cast<const float*>(buf[0]), static_cast<const int32_t*>(buf[1]),
                            static_cast<const float*>(buf[2]), static_cast<const float*>(buf[3]), sym[0],
                            static_cast<float*>(buf[4]));
}

// train_step: x, y, W, b, loss, dW, db. d loss / d z[s, c] = (probs[s, c] - [c == y[s]]) / n.
void trainStepFn(void* const* buf, const int64_t* sym) {
  if (g_onTrainStep) g_onTrainStep(static_cast<int>(g_trainBatches.size()));
  const int64_t n = sym[0];
  g_trainBatches.push_back(n);
  const auto* x = static_cast<const float*>(buf[0]);
  for (int64_t s = 0; s < n; ++s) g_trainPixels.push_back(x[s * kFeatures]);
  const auto* y = static_cast<const int32_t*>(buf[1]);
  std::vector<float> probs(static_cast<size_t>(n * kClasses));
  float loss =
      softmaxRegression(x, y, static_cast<const float*>(buf[2]), static_cast<const float*>(buf[3]), n, probs.data());
  if (g_poisonLoss) loss = NAN;
  if (g_lossHook) loss = g_lossHook(static_cast<int>(g_trainBatches.size()) - 1, loss);
  *static_cast<float*>(buf[4]) = loss;
  auto* dw = static_cast<float*>(buf[5]);
  auto* db = static_cast<float*>(buf[6]);
  std::fill(dw, dw + kFeatures * kClasses, 0.0f);
  std::fill(db, db + kClasses, 0.0f);
  for (int64_t s = 0; s < n; ++s)
    for (int c = 0; c < kClasses; ++c) {
      const float dz = (probs[s * kClasses + c] - (c == y[s] ? 1.0f : 0.0f)) / static_cast<float>(n);
      db[c] += dz;
      for (int i = 0; i < kFeatures; ++i) dw[i * kClasses + c] += x[s * kFeatures + i] * dz;
    }
  const int call = static_cast<int>(g_trainBatches.size()) - 1;
  if (call == g_poisonGradAt) db[1] = NAN;
  if (call == g_raiseAt) std::raise(SIGTERM);
}

const int64_t kXDims[] = {-1, 2, 2}, kYDims[] = {-1}, kWDims[] = {kFeatures, kClasses}, kBDims[] = {kClasses},
              kProbDims[] = {-1, kClasses};
const char* const kSyms[] = {"batch"};
const sinter_tensor_desc kInputs[] = {{"image", SINTER_F32, 3, kXDims, 0, 0, 0},
                                      {"label", SINTER_I32, 1, kYDims, 0, 0, 0}};
const sinter_tensor_desc kParams[] = {{"W", SINTER_F32, 2, kWDims, SINTER_INIT_GLOROT_UNIFORM, 0, 0},
                                      {"b", SINTER_F32, 1, kBDims, SINTER_INIT_ZEROS, 0, 0}};
// The prediction comes before the loss on purpose: the driver must not assume an order.
const sinter_tensor_desc kOutputs[] = {{"probs", SINTER_F32, 2, kProbDims, 0, 0, 0},
                                       {"loss", SINTER_F32, 0, nullptr, 0, 0, 0}};

sinter_model_desc tinyModel() {
  sinter_model_desc m{};
  m.abi_version = SINTER_ABI_VERSION;
  m.num_syms = 1;
  m.name = "tiny";
  m.sym_names = kSyms;
  m.num_inputs = 2;
  m.num_params = 2;
  m.num_outputs = 2;
  m.loss_output = 1;
  m.inputs = kInputs;
  m.params = kParams;
  m.outputs = kOutputs;
  m.forward = forwardFn;
  m.train_step = trainStepFn;
  m.has_train = 1;
  m.train.optimizer = SINTER_OPT_SGD;
  m.train.lr = 0.5f;
  m.train.momentum = 0.9f;
  m.train.batch = 16;
  m.train.epochs = 4;
  m.train.seed = 7;
  return m;
}

// n samples of class i % 3: pixel (class) is bright, the others dark, pixel 3 pure noise.
struct Data {
  std::vector<uint8_t> pixels, labels;
};
Data synthetic(int n, uint32_t seed) {
  Data d;
  uint32_t s = seed;
  auto next = [&] { return (s = s * 1664525u + 1013904223u) >> 24; };  // LCG, top byte
  for (int i = 0; i < n; ++i) {
    const int c = i % kClasses;
    for (int p = 0; p < kFeatures; ++p)
      d.pixels.push_back(static_cast<uint8_t>(p == c ? 180 + next() % 76 : next() % 60));
    d.labels.push_back(static_cast<uint8_t>(c));
  }
  return d;
}

// The four standard files in dir; returns dir.
void writeDataset(const TempDir& dir, int nTrain = 300, int nTest = 90) {
  const Data train = synthetic(nTrain, 1), test = synthetic(nTest, 2);
  const auto u = [](int n) { return static_cast<uint32_t>(n); };
  writeGz(dir.file("train-images-idx3-ubyte.gz"), idxBytes(0x08, {u(nTrain), 2, 2}, train.pixels));
  writeGz(dir.file("train-labels-idx1-ubyte.gz"), idxBytes(0x08, {u(nTrain)}, train.labels));
  writeGz(dir.file("t10k-images-idx3-ubyte.gz"), idxBytes(0x08, {u(nTest), 2, 2}, test.pixels));
  writeGz(dir.file("t10k-labels-idx1-ubyte.gz"), idxBytes(0x08, {u(nTest)}, test.labels));
}

struct Result {
  int rc;
  std::string out, err;
};

Result runDriver(const TempDir& dir, std::vector<std::string> args, const sinter_model_desc& m = tinyModel()) {
  args.insert(args.begin(), "tiny-train");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  g_trainBatches.clear();
  g_forwardBatches.clear();
  g_trainPixels.clear();
  Capture cap(dir.file(""));
  const int rc = sinter_train_main(&m, static_cast<int>(args.size()), argv.data());
  cap.stop();
  return {rc, cap.out(), cap.err()};
}

std::vector<nlohmann::json> readMetrics(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// Accuracy of the model's forward on the test files of dir with weights w, b.
[[maybe_unused]] double accuracyWith(const TempDir& dir, std::vector<float>& w, std::vector<float>& b) {
  const Data test = synthetic(90, 2);
  std::vector<float> x(test.pixels.size()), probs(90 * kClasses);
  for (size_t i = 0; i < x.size(); ++i) x[i] = test.pixels[i] / 255.0f;
  std::vector<int32_t> y(test.labels.begin(), test.labels.end());
  float loss = 0;
  void* buf[] = {x.data(), y.data(), w.data(), b.data(), probs.data(), &loss};
  const int64_t n = 90;
  forwardFn(buf, &n);
  int correct = 0;
  for (int s = 0; s < n; ++s)
    correct += std::max_element(&probs[s * kClasses], &probs[s * kClasses] + kClasses) - &probs[s * kClasses] == y[s];
  return correct / 90.0;
}

}  // namespace
