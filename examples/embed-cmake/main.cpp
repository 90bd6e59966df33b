// Two models compiled by sinter_add_model() in one C++ program: each has its own symbols (Classifier_*,
// Linear_*), so each <Model>_create makes an instance of that model. Both learn a rule of 4 features into 3
// classes; the program prints their held-out accuracy and predictions (the Makefile example prints Linear's
// too, from the same model and data), saves the Classifier's weights and loads them into a second instance,
// and writes the held-out rows beside the weights as CSV, so that the command line can check the library:
//   sinter run classifier.sn --load classifier.safetensors --test-csv classifier.heldout.csv
// Exit status 1 when a model fails to learn or a call fails.
//   embed [WEIGHTS_FILE]      (default: classifier.safetensors in the current directory)
#include <cstdio>
#include <string>
#include <vector>

#include "classifier.h"
#include "linear.h"

namespace {

// x: n rows of 4 values in [-1, 1); y: the class whose score is largest (a fixed rule the models learn).
void makeBatch(unsigned seed, int n, std::vector<float>& x, std::vector<int32_t>& y) {
  x.resize(n * 4);
  y.resize(n);
  unsigned s = seed;
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 4; ++j) {
      s = s * 1664525u + 1013904223u;
      x[i * 4 + j] = static_cast<float>((s >> 8) & 0xffff) / 65535.0f * 2.0f - 1.0f;
    }
    const float a = x[i * 4] + x[i * 4 + 1], b = x[i * 4 + 2] - x[i * 4], c = x[i * 4 + 3] - x[i * 4 + 1];
    y[i] = a > b ? (a > c ? 0 : 2) : (b > c ? 1 : 2);
  }
}

int argmax3(const float* p) { return p[0] >= p[1] && p[0] >= p[2] ? 0 : p[1] >= p[2] ? 1 : 2; }

// Fraction of the n samples whose largest probability is the label's; fills `predicted` too.
double accuracy(const std::vector<float>& probs, const std::vector<int32_t>& y, std::vector<int>& predicted) {
  int right = 0;
  predicted.resize(y.size());
  for (size_t i = 0; i < y.size(); ++i) {
    predicted[i] = argmax3(&probs[i * 3]);
    right += predicted[i] == y[i];
  }
  return static_cast<double>(right) / static_cast<double>(y.size());
}

void printPredictions(const char* model, const std::vector<int>& predicted) {
  std::printf("%s predictions:", model);
  for (int p : predicted) std::printf(" %d", p);
  std::printf("\n");
}

// The rows as `sinter run --test-csv` reads them: the features, then the label.
bool writeCsv(const std::string& path, const std::vector<float>& x, const std::vector<int32_t>& y) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) {
    std::fprintf(stderr, "embed: cannot write %s\n", path.c_str());
    return false;
  }
  std::fprintf(f, "x0,x1,x2,x3,label\n");
  for (size_t i = 0; i < y.size(); ++i)
    std::fprintf(f, "%.9g,%.9g,%.9g,%.9g,%d\n", x[i * 4], x[i * 4 + 1], x[i * 4 + 2], x[i * 4 + 3], y[i]);
  return std::fclose(f) == 0;
}

bool ok(sinter_status s, sinter_instance* m, const char* what) {
  if (s != SINTER_OK) std::fprintf(stderr, "embed: %s: %s\n", what, sinter_last_error(m));
  return s == SINTER_OK;
}

}  // namespace

int main(int argc, char** argv) {
  const char* weights = argc > 1 ? argv[1] : "classifier.safetensors";
  sinter_set_threads(1);
  sinter_instance* classifier = Classifier_create(1);
  sinter_instance* linear = Linear_create(1);
  if (!classifier || !linear) {
    std::fprintf(stderr, "embed: create: %s\n", sinter_last_error(nullptr));
    return 1;
  }
  std::vector<float> x, probs(64 * 3), probs2(64 * 3);
  std::vector<int32_t> y;
  float loss = 0;
  for (unsigned step = 0; step < 300; ++step) {
    makeBatch(step + 10, 32, x, y);
    if (!ok(Classifier_train_step(classifier, 32, x.data(), y.data(), &loss), classifier, "Classifier train step") ||
        !ok(Linear_train_step(linear, 32, x.data(), y.data(), &loss), linear, "Linear train step"))
      return 1;
  }
  makeBatch(3, 64, x, y);
  std::vector<int> predicted;
  if (!ok(Classifier_forward(classifier, 64, x.data(), y.data(), probs.data(), &loss), classifier, "forward")) return 1;
  const double classifierAccuracy = accuracy(probs, y, predicted);
  std::vector<int> linearPredicted;
  if (!ok(Linear_forward(linear, 64, x.data(), y.data(), probs.data(), &loss), linear, "forward")) return 1;
  const double linearAccuracy = accuracy(probs, y, linearPredicted);
  std::printf("held-out accuracy: Classifier %.2f, Linear %.2f\n", classifierAccuracy, linearAccuracy);
  printPredictions("Classifier", predicted);
  printPredictions("Linear", linearPredicted);
  std::string heldout = weights;
  const std::string suffix = ".safetensors";
  if (heldout.size() > suffix.size() && heldout.compare(heldout.size() - suffix.size(), suffix.size(), suffix) == 0)
    heldout.resize(heldout.size() - suffix.size());
  if (!writeCsv(heldout + ".heldout.csv", x, y)) return 1;

  // The weights file round-trips into a fresh instance: the same predictions.
  sinter_instance* reloaded = Classifier_create(2);
  if (!ok(sinter_save_weights(classifier, weights), classifier, "save") ||
      !ok(sinter_load_weights(reloaded, weights), reloaded, "load") ||
      !ok(Classifier_forward(classifier, 64, x.data(), y.data(), probs.data(), &loss), classifier, "forward") ||
      !ok(Classifier_forward(reloaded, 64, x.data(), y.data(), probs2.data(), &loss), reloaded, "forward"))
    return 1;
  const bool same = probs == probs2;
  sinter_destroy(reloaded);
  sinter_destroy(classifier);
  sinter_destroy(linear);
  if (classifierAccuracy < 0.85 || linearAccuracy < 0.85 || !same) {
    std::fprintf(stderr, "embed: FAIL (accuracies %.2f, %.2f; reloaded weights give %s predictions)\n",
                 classifierAccuracy, linearAccuracy, same ? "the same" : "other");
    return 1;
  }
  return 0;
}
