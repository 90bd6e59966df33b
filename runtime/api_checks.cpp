#include "runtime/api_checks.h"

#include "runtime/error.h"
#include "runtime/model_layout.h"

#include <array>
#include <string>
#include <vector>

namespace sinter::rt {
namespace {

std::string str(const char* s) { return s ? s : ""; }

}  // namespace

void checkBatch(int64_t batch) {
  if (batch < 1 || batch > (int64_t{1} << 31))
    throw ArgumentError("batch must be between 1 and 2^31, got " + std::to_string(batch));
}

void checkPointers(const void* const* ptrs, int32_t count, const sinter_tensor_desc* descs, const char* what) {
  if (!ptrs) throw ArgumentError(std::string(what) + " is NULL");
  for (int32_t i = 0; i < count; ++i)
    if (!ptrs[i])
      throw ArgumentError(std::string(what) + "[" + std::to_string(i) + "] ('" + str(descs[i].name) + "') is NULL");
}

int64_t tensorBytes(const sinter_tensor_desc& t, int64_t batch) {
  auto bytes = static_cast<int64_t>(dtypeSize(t));
  for (int32_t i = 0; i < t.rank; ++i)
    if (__builtin_mul_overflow(bytes, t.dims[i] < 0 ? batch : t.dims[i], &bytes))
      throw ArgumentError("tensor '" + str(t.name) + "' at batch " + std::to_string(batch) + " is too large");
  return bytes;
}

void checkOutputsApart(const sinter_model_desc& m, int64_t batch, const void* const* inputs, const void* const* params,
                       void* const* outputs) {
  // Called on every forward call: the spans hold no names (a batch-1 call of a small model is a few
  // microseconds, and building a string per buffer cost a tenth of it); the message names them on overlap.
  struct Span {
    const char* begin;
    int64_t bytes;
    const sinter_tensor_desc* desc;
    const char* kind;
    int32_t index;
    std::string what() const {
      return std::string(kind) + "[" + std::to_string(index) + "] ('" + str(desc->name) + "')";
    }
  };
  auto span = [&](const void* p, const sinter_tensor_desc& t, const char* kind, int32_t i) {
    return Span{static_cast<const char*>(p), tensorBytes(t, batch), &t, kind, i};
  };
  constexpr std::size_t kInline = 32;  // spans on the stack for models with few buffers
  const auto count = static_cast<std::size_t>(m.num_inputs) + static_cast<std::size_t>(m.num_params) +
                     static_cast<std::size_t>(m.num_outputs);
  std::array<Span, kInline> inlineSpans;
  std::vector<Span> heapSpans(count > kInline ? count : 0);
  Span* others = count > kInline ? heapSpans.data() : inlineSpans.data();
  std::size_t n = 0;
  for (int32_t i = 0; i < m.num_inputs; ++i) others[n++] = span(inputs[i], m.inputs[i], "inputs", i);
  for (int32_t i = 0; i < m.num_params; ++i) others[n++] = span(params[i], m.params[i], "param", i);
  for (int32_t i = 0; i < m.num_outputs; ++i) {
    const Span out = span(outputs[i], m.outputs[i], "outputs", i);
    for (std::size_t k = 0; k < n; ++k) {
      const Span& o = others[k];
      if (out.bytes > 0 && o.bytes > 0 && out.begin < o.begin + o.bytes && o.begin < out.begin + out.bytes)
        throw ArgumentError(out.what() + " overlaps " + o.what() + " at batch " + std::to_string(batch) +
                            "; every output needs a buffer of its own");
    }
    others[n++] = out;
  }
}

void checkLabels(const sinter_model_desc& m, const AccuracyTensors& a, const void* labels, int64_t batch) {
  const auto* y = static_cast<const int32_t*>(labels);
  for (int64_t i = 0; i < batch; ++i)
    if (y[i] < 0 || y[i] >= a.classes)
      throw ArgumentError("label " + std::to_string(y[i]) + " of sample " + std::to_string(i) + " in input '" +
                          str(m.inputs[a.labelInput].name) + "' is out of range: output '" +
                          str(m.outputs[a.predOutput].name) + "' has " + std::to_string(a.classes) + " classes");
}

void checkDescriptor(const sinter_model_desc* model) {
  if (!model) throw Error("sinter_create: model is NULL");
  const std::string name = "model '" + str(model->name) + "'";
  if (model->abi_version != SINTER_ABI_VERSION)
    throw Error(name + " was compiled for ABI version " + std::to_string(model->abi_version) + ", this runtime is " +
                std::to_string(SINTER_ABI_VERSION) + "; rebuild it with this version of sinter");
  if (!model->forward || model->num_inputs < 0 || model->num_params < 0 || model->num_outputs < 0 ||
      (model->num_inputs > 0 && !model->inputs) || (model->num_params > 0 && !model->params) ||
      (model->num_outputs > 0 && !model->outputs) || model->num_state < 0 || model->num_state > model->num_params)
    throw Error(name + ": malformed descriptor (no forward entry point, or a NULL tensor list)");
}

}  // namespace sinter::rt
