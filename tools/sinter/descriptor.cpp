#include "tools/sinter/descriptor.h"

#include <algorithm>

namespace sinter::tool {

namespace {

// The ABI's init kind of an IR param's initializer (as the compiled model's descriptor holds it).
int32_t abiInit(ir::Init::Kind k) {
  switch (k) {
    case ir::Init::Zeros: return SINTER_INIT_ZEROS;
    case ir::Init::Ones: return SINTER_INIT_ONES;
    case ir::Init::Constant: return SINTER_INIT_CONSTANT;
    case ir::Init::Uniform: return SINTER_INIT_UNIFORM;
    case ir::Init::Normal: return SINTER_INIT_NORMAL;
    case ir::Init::GlorotUniform: return SINTER_INIT_GLOROT_UNIFORM;
    case ir::Init::HeNormal: return SINTER_INIT_HE_NORMAL;
    case ir::Init::LecunUniform: return SINTER_INIT_LECUN_UNIFORM;
    case ir::Init::Data: return SINTER_INIT_DATA;
  }
  return SINTER_INIT_ZEROS;
}

}  // namespace

Descriptor::Descriptor(const ir::Graph& g) : symbols_(g.symbols()) {
  for (ir::NodeId id : g.inputs) inputs_.push_back(tensor(g.node(id).name, g.node(id).type));
  bool anyData = false;
  for (ir::NodeId id : g.params) {
    const ir::Node& p = g.node(id);
    sinter_tensor_desc& t = params_.emplace_back(tensor(p.name, p.type));
    t.init = abiInit(p.init.kind);
    t.init_a = static_cast<float>(p.init.a);  // floats, as the compiled descriptor holds them
    t.init_b = static_cast<float>(p.init.b);
    const bool data = p.init.kind == ir::Init::Data && p.init.data;
    initData_.push_back(data ? p.init.data->data() : nullptr);
    anyData = anyData || data;
  }
  for (const ir::Result& r : g.results) outputs_.push_back(tensor(r.name, g.node(r.node).type));
  desc_.abi_version = SINTER_ABI_VERSION;
  desc_.name = g.name.c_str();
  desc_.num_inputs = static_cast<int32_t>(inputs_.size());
  desc_.num_params = static_cast<int32_t>(params_.size());
  desc_.num_outputs = static_cast<int32_t>(outputs_.size());
  desc_.inputs = inputs_.data();
  desc_.params = params_.data();
  desc_.outputs = outputs_.data();
  desc_.param_init_data = anyData ? initData_.data() : nullptr;
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
