// Identifiers of a written model file (onnx_source.h): ONNX value and initializer names made readable,
// unique, and free of the language's keywords and built-in function names.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace sinter::onnxio {

class SourceNames {
 public:
  // Reserves a name as it is (an input's or output's, which the model's ABI keeps).
  void reserve(const std::string& name) { taken_.insert(name); }
  // `raw` as a new identifier: letters, digits and '_', not a keyword or built-in, suffixed to be unique.
  std::string take(std::string_view raw);
  // An identifier for the value torch names "/fc1/Gemm_output_0": "fc1_gemm"; "" when it has no usable name.
  static std::string fromValueName(std::string_view onnxName);
  // The layer path of a value ("/encoder/fc1/Gemm_output_0": "encoder_fc1", "/0/Gemm_output_0": "0"); "" at
  // the top level.
  static std::string layerPath(std::string_view onnxName);
  // `raw` with every character other than a letter, digit or '_' made '_', and a leading digit prefixed.
  static std::string identifier(std::string_view raw);

 private:
  std::set<std::string> taken_;
};

}  // namespace sinter::onnxio
