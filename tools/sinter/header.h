#pragma once
#include <string>

#include "compiler/codegen/codegen.h"
#include "compiler/ir/module.h"

namespace sinter::tool {

// The C header of a compiled model: the runtime's C API and typed wrappers for this model.
// Its descriptor is codegen::descriptorSymbol(opts, m.name), as the object that `sinter build` writes with
// the same options defines it.
std::string emitHeader(const ir::Module& m, const std::string& source, const codegen::Options& opts);

}  // namespace sinter::tool
