// Forward-only inference, behind `sinter run` on a model without a train block (an imported ONNX model, a
// .sn model of layers only): every model input fed from a file, the outputs computed batch by batch, the
// first one written for every sample. No loss, no labels, no metrics: those need a train block
// (runtime/eval_driver.h).
#pragma once

#include "runtime/driver_options.h"

#include <sinter/model_abi.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sinter::rt {

struct ForwardReport {
  std::vector<std::string> sources;  // each input's file, in input order
  int64_t samples = 0, batch = 0;
  int threads = 0;
  double seconds = 0;  // the forward passes and copying their inputs, not reading or writing files
  struct Output {
    std::string name;
    std::vector<int64_t> shape;  // [samples, ...]
    double mean = 0;             // of every value, a quick sanity figure
  };
  std::vector<Output> outputs;
  std::string predictionsOutput;  // the output written to the predictions file, when one was
};

// Fills the params (m.params order) from somewhere other than a weights file: an ONNX file's initializers.
using ParamLoader = std::function<void(void* const* params)>;

// Runs m.forward over the samples the data flags of `o` name: each input NAME from `--test-input NAME=FILE`
// (NPY or IDX, fed as they are), and a model's first input, without one, from --test-images (default
// DIR/t10k-images-idx3-ubyte.gz; IDX pixels scaled to [0, 1] as training scales them, NPY as they are).
// Every input is [batch, ...] with one symbolic batch dimension (or a fixed first dimension: the batch is
// then that size and a last partial batch is padded), f32, f64 or i32. The params come from o.loadPath, or
// from `loadParams` when that is empty. With a `predictionsPath`, writes the first output, float32
// [samples, ...], there. Throws Error naming the flag, file or input at fault before any forward pass.
ForwardReport runForward(const sinter_model_desc& m, const DriverOptions& o, const ParamLoader& loadParams,
                         const std::string& predictionsPath);

}  // namespace sinter::rt
