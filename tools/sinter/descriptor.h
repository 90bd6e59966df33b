// A model descriptor made from a forward graph without compiling it, for the commands that read or write
// weights files of a model they do not run (`sinter import`, `sinter export`).
#pragma once

#include <sinter/model_abi.h>

#include <deque>
#include <string>
#include <vector>

#include "compiler/ir/graph.h"

namespace sinter::tool {

// The descriptor's tables the compiled model will have (as codegen/emit_module.cpp builds them), as far as
// a checkpoint and the params' initialization read them: names, dtypes and dims of the inputs, params and
// outputs (a checkpoint is checked against the params'), and each param's init kind and given values, so that
// rt::initParams draws what the compiled model's sinter_create draws. The storage they point into lives here.
class Descriptor {
 public:
  explicit Descriptor(const ir::Graph& g);
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  const sinter_model_desc& desc() const { return desc_; }

 private:
  std::vector<std::string> symbols_;
  std::deque<std::vector<int64_t>> dims_;
  std::vector<sinter_tensor_desc> inputs_, params_, outputs_;
  std::vector<const void*> initData_;  // per param: its Init::Data values, else null
  sinter_model_desc desc_{};

  sinter_tensor_desc tensor(const std::string& name, const ir::TensorType& t);
};

}  // namespace sinter::tool
