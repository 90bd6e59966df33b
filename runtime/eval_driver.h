// The evaluation entry of the driver, behind `sinter run`: trained weights measured on a test set with the
// training driver's readers, normalization and metrics code, and the model's predictions for every sample.
#pragma once

#include "runtime/driver_options.h"
#include "runtime/metrics.h"

#include <sinter/model_abi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sinter::rt {

// What an evaluation measured.
struct EvalReport {
  std::string source;  // the test samples' file
  int64_t samples = 0, batch = 0;
  int threads = 0;
  double loss = 0;
  bool accuracyMeasured = false;  // the train block's metrics ask for accuracy
  double accuracy = 0;
  int64_t correct = 0;
  int32_t metrics = 0;                    // what to report, bits of sinter_metric
  int64_t topK = 0;                       // SINTER_METRIC_TOP_K's k
  SplitMetrics figures;                   // every figure of the task
  double seconds = 0;                     // feeding the batches and the forward passes, not reading or writing files
  std::string predictionsOutput;          // the output written to the predictions file, when one was
  std::vector<int64_t> predictionsShape;  // [samples, ...]
};

// Loads the weights o.loadPath into a fresh copy of the model's params, then runs the forward pass over the
// test split the data flags of `o` select, o.batch samples at a time on o.threads threads (0: the default),
// and measures the train block's metrics exactly as the training driver measures its test split. With a
// `predictionsPath`, writes the model's first output other than the loss for every sample there, as a
// float32 NPY array [samples, ...]. Throws Error (before any evaluation for a bad weights file, missing data
// or an output that holds no per-sample values).
EvalReport evaluateTestSet(const sinter_model_desc& m, const DriverOptions& o, const std::string& predictionsPath);

}  // namespace sinter::rt
