// Seeds of the ONNX importer's fuzz target: the small models of tests/onnx/onnx_models.h (a Scan among them)
// at a few opsets, serialized into the corpus directory given.
#include <cstdio>
#include <fstream>
#include <string>

#include "tests/onnx/onnx_models.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  int i = 0;
  for (std::int64_t opset : {11, 13, 17})
    for (const auto& model : {sinter::onnxtest::mlp(opset), sinter::onnxtest::cnn(opset),
                              sinter::onnxtest::scanCumsum(opset % 2 == 0, opset)}) {
      std::ofstream out(std::string(argv[1]) + "/onnx_seed_" + std::to_string(++i) + ".onnx", std::ios::binary);
      out << model.bytes();
      if (!out) return 1;
    }
  return 0;
}
