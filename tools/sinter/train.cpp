// `sinter train`: JIT-compile the model in this process and hand it to the runtime's training driver,
// the same driver a training executable runs.
#include <fmt/format.h>

#include "tools/sinter/commands.h"
#include "tools/sinter/pipeline.h"

namespace sinter::tool {

int runTrain(const std::string& path, const codegen::Options& codegenOpts, const std::vector<std::string>& driverArgs) {
  frontend::DiagnosticEngine diags;
  auto m = compileModel(path, diags);
  if (!m) return reportDiagnostics(diags);
  if (!m->train) {
    fmt::print(stderr, "error: {}: no train block: say how to train the model (see docs/language.md)\n", path);
    return 1;
  }
  auto jit = codegen::JitModel::compile(*m, codegenOpts);
  std::vector<std::string> args = {"sinter train " + path};
  args.insert(args.end(), driverArgs.begin(), driverArgs.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return sinter_train_main(jit->descriptor(), static_cast<int>(args.size()), argv.data());
}

}  // namespace sinter::tool
