// The argument checks of the C API's calls (runtime/api_checks.h) on hand-made descriptors: outputs that
// overlap an input, a param or another output, named in the error, for models with few buffers and with
// more than checkOutputsApart keeps on the stack.
#include <catch2/catch.hpp>

#include "runtime/api_checks.h"

#include <string>
#include <vector>

namespace {

const int64_t kRow[] = {-1, 4}, kW[] = {4};

// A model with one input, `params` params of 4 floats and two outputs of 4 floats per sample.
struct Model {
  std::vector<std::string> names;
  std::vector<sinter_tensor_desc> inputs, params, outputs;
  sinter_model_desc desc{};
  explicit Model(int32_t count) {
    names.reserve(static_cast<std::size_t>(count));
    for (int32_t i = 0; i < count; ++i) names.push_back("w" + std::to_string(i));
    inputs = {{"x", SINTER_F32, 2, kRow, 0, 0, 0}};
    for (const std::string& n : names) params.push_back({n.c_str(), SINTER_F32, 1, kW, 0, 0, 0});
    outputs = {{"a", SINTER_F32, 2, kRow, 0, 0, 0}, {"b", SINTER_F32, 2, kRow, 0, 0, 0}};
    desc.num_inputs = 1;
    desc.num_params = count;
    desc.num_outputs = 2;
    desc.inputs = inputs.data();
    desc.params = params.data();
    desc.outputs = outputs.data();
  }
};

std::string overlapError(const sinter_model_desc& m, int64_t batch, const void* const* in, const void* const* params,
                         void* const* out) {
  try {
    sinter::rt::checkOutputsApart(m, batch, in, params, out);
  } catch (const sinter::rt::ArgumentError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("checkOutputsApart names the buffers an output overlaps, with few buffers or many") {
  for (int32_t count : {2, 40}) {  // 40 params: more spans than the stack holds
    INFO("params " << count);
    Model m(count);
    const int64_t batch = 3;
    // x and a twice the 12 floats their descriptors give at batch 3: an output placed inside them overlaps them
    // and nothing else.
    std::vector<float> x(24), a(24), b(12);
    std::vector<std::vector<float>> w(static_cast<std::size_t>(count), std::vector<float>(4));
    std::vector<const void*> params;
    for (const auto& p : w) params.push_back(p.data());
    const void* in[] = {x.data()};
    void* apart[] = {a.data(), b.data()};
    CHECK(overlapError(m.desc, batch, in, params.data(), apart).empty());
    // Output b over the last param, over the input, over output a.
    const std::string last = "w" + std::to_string(count - 1);
    void* overParam[] = {a.data(), w.back().data()};
    const std::string e1 = overlapError(m.desc, batch, in, params.data(), overParam);
    CHECK(e1.find("outputs[1] ('b') overlaps param[" + std::to_string(count - 1) + "] ('" + last + "')") !=
          std::string::npos);
    void* overInput[] = {a.data(), x.data() + 8};
    CHECK(overlapError(m.desc, batch, in, params.data(), overInput).find("overlaps inputs[0] ('x')") !=
          std::string::npos);
    void* overOutput[] = {a.data(), a.data() + 11};
    CHECK(overlapError(m.desc, batch, in, params.data(), overOutput).find("overlaps outputs[0] ('a')") !=
          std::string::npos);
    // Adjacent is apart: a ends where b begins.
    std::vector<float> ab(24);
    void* adjacent[] = {ab.data(), ab.data() + 12};
    CHECK(overlapError(m.desc, batch, in, params.data(), adjacent).empty());
  }
}
