// The data splits of a run as the driver's flags select them: read with the IDX, NPY or CSV readers, checked
// against the model, fed to it batch by batch and evaluated. Shared by the training driver and by the
// evaluation of `sinter run`, so that both read, normalize and measure a test set the same way.
#pragma once

#include "runtime/dataset.h"
#include "runtime/driver_options.h"
#include "runtime/model_layout.h"

#include <sinter/model_abi.h>

#include <cstdint>
#include <functional>

namespace sinter::rt {

struct Splits {
  Dataset train, val, test;
  bool hasVal = false, hasTest = false;
  Normalizer norm;  // fitted on the training split with --normalize standard; inactive otherwise
};

// Training: the training split (less the validation split, when asked for) and the test split when the
// flags name one. Each split is checked against the model (features per sample, label range) and cut to
// its --limit-*. Throws Error naming the file at fault.
Splits loadTrainingSplits(const sinter_model_desc& m, const Layout& l, const DriverOptions& o);

// Evaluation: the test split alone, which must exist. With --normalize standard the training split is read
// too, for the statistics training standardized with (after its --limit-train and --val-split), then dropped.
Splits loadTestSplit(const sinter_model_desc& m, const Layout& l, const DriverOptions& o);

// Copies samples order[first..first+count) (first.. without an order) into the model's samples input and
// target, and their extra inputs; an f64 model's samples and targets are gathered as f32 (the data's precision)
// and widened exactly.
void feedBatch(const Dataset& set, const Normalizer& norm, const int64_t* order, int64_t first, int64_t count,
               const Layout& l, Buffers& b);

// Runs the forward pass over `set` in order, `batch` samples at a time (the last batch may be smaller),
// summing every metric of the task (class labels: accuracy and top-`topK`; floating targets: MAE, RMSE, R^2),
// whether or not the run reports it. After each batch, `onBatch(first, count)` may read b.outputs.
SplitMetrics evaluateSplit(const sinter_model_desc& m, const Layout& l, const Dataset& set, const Normalizer& norm,
                           int64_t batch, int64_t topK, Buffers& b,
                           const std::function<void(int64_t first, int64_t count)>& onBatch = {});
// The same measurement as sums, which the shards of a split add up to (runtime/sharded_eval.h).
MetricSums sumSplit(const sinter_model_desc& m, const Layout& l, const Dataset& set, const Normalizer& norm,
                    int64_t batch, int64_t topK, Buffers& b,
                    const std::function<void(int64_t first, int64_t count)>& onBatch = {});

}  // namespace sinter::rt
