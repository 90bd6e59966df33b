#pragma once
#include <string>

#include "compiler/ir/module.h"

namespace sinter::tool {

// The C header of a compiled model: the runtime's C API and typed wrappers for this model.
std::string emitHeader(const ir::Module& m, const std::string& source, const std::string& descriptor);

}  // namespace sinter::tool
