// What the importer's unit tests share: a model's bytes imported as "m.onnx", the one error an import
// reports, and the imported graph run by the f64 reference interpreter with its imported weights.
#pragma once

#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ir/interpreter.h"
#include "frontend/onnx/onnx_import.h"

namespace sinter::onnxtest {

inline std::optional<onnxio::Imported> import(const std::string& bytes, frontend::DiagnosticEngine& d) {
  return onnxio::importBytes(bytes, "m.onnx", d);
}

// The one error an import reports (the test fails if it imported or reported another number of errors).
inline std::string importError(const std::string& bytes) {
  frontend::DiagnosticEngine d;
  const auto m = import(bytes, d);
  CHECK_FALSE(m);
  REQUIRE(d.errorCount() == 1);
  return d.str();
}

// The model's outputs for the inputs given, with its imported weights as the params.
inline std::vector<ir::Tensor> evaluate(const onnxio::Imported& m, std::map<std::string, ir::Tensor> args) {
  for (const auto& [name, w] : m.weights) args[name] = ir::Tensor{w.shape, {w.data.begin(), w.data.end()}};
  return ir::interpret(m.module.forward, args);
}

}  // namespace sinter::onnxtest
