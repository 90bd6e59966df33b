#include "tools/sinter/descriptor.h"

#include <algorithm>

namespace sinter::tool {

Descriptor::Descriptor(const ir::Graph& g) : symbols_(g.symbols()) {
  for (ir::NodeId id : g.inputs) inputs_.push_back(tensor(g.node(id).name, g.node(id).type));
  for (ir::NodeId id : g.params) params_.push_back(tensor(g.node(id).name, g.node(id).type));
  for (const ir::Result& r : g.results) outputs_.push_back(tensor(r.name, g.node(r.node).type));
  desc_.abi_version = SINTER_ABI_VERSION;
  desc_.name = g.name.c_str();
  desc_.num_inputs = static_cast<int32_t>(inputs_.size());
  desc_.num_params = static_cast<int32_t>(params_.size());
  desc_.num_outputs = static_cast<int32_t>(outputs_.size());
  desc_.inputs = inputs_.data();
  desc_.params = params_.data();
  desc_.outputs = outputs_.data();
}

sinter_tensor_desc Descriptor::tensor(const std::string& name, const ir::TensorType& t) {
  std::vector<int64_t>& dims = dims_.emplace_back();
  for (const ir::Dim& d : t.shape) {  // a symbolic dimension k is -k-1, as in the ABI
    const auto s = std::find(symbols_.begin(), symbols_.end(), d.symbol);
    dims.push_back(d.isSymbolic() ? -static_cast<int64_t>(s - symbols_.begin()) - 1 : d.size);
  }
  int32_t dtype = SINTER_F32;
  switch (t.dtype) {
    case ir::DType::F32: dtype = SINTER_F32; break;
    case ir::DType::F64: dtype = SINTER_F64; break;
    case ir::DType::I32: dtype = SINTER_I32; break;
  }
  return {name.c_str(), dtype, static_cast<int32_t>(dims.size()), dims.data(), SINTER_INIT_ZEROS, 0, 0};
}

}  // namespace sinter::tool
