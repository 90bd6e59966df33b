// libFuzzer target for safetensors loading (checkpoints and --load weights): any bytes, against a small
// model with optimizer state, give the tensors or a sinter::rt::Error; and a training position read from
// the metadata is whole and consistent, or an Error. The seeds (make_seeds.cpp) are real checkpoints.
#include "fuzz_input.h"
#include "fuzz_model.h"
#include "runtime/checkpoint.h"
#include "runtime/error.h"
#include "runtime/train_position.h"

#include <cmath>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sinter;
  const std::string path = fuzz::writeInput(data, size, ".safetensors");
  fuzz::ModelBuffers b;
  try {
    const auto meta = rt::loadCheckpoint(path, fuzz::model(), b.params, &b.extras);
    for (float v : b.w) if (!std::isfinite(v)) __builtin_trap();  // non-finite weights must be refused
    const rt::Resumed r = rt::readPosition(meta, fuzz::kRun, fuzz::kStepsPerEpoch, path);
    if (r.position.correct > r.position.seen || r.position.epochStep >= fuzz::kStepsPerEpoch) __builtin_trap();
  } catch (const rt::Error&) {
  }
  try {
    (void)rt::loadCheckpoint(path, fuzz::model(), b.params);  // as plain weights: state tensors ignored
  } catch (const rt::Error&) {
  }
  return 0;
}
