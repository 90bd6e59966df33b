// `sinter train`: JIT-compile the model in this process and hand it to the runtime's training driver,
// the same driver a training executable runs.
#include "tools/sinter/commands.h"
#include "tools/sinter/jit.h"

namespace sinter::tool {

int runTrain(const std::string& path, const codegen::Options& codegenOpts, const std::vector<std::string>& driverArgs) {
  auto jit = compileJit(path, codegenOpts, /*needsTrain=*/true, "train");
  if (!jit) return 1;
  std::vector<std::string> args = {"sinter train " + path};
  args.insert(args.end(), driverArgs.begin(), driverArgs.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return sinter_train_main(jit->descriptor(), static_cast<int>(args.size()), argv.data());
}

}  // namespace sinter::tool
