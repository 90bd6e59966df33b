// `sinter build`: an object file, LLVM IR, assembly, or a training executable linked with the runtime.
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/sinter/commands.h"
#include "tools/sinter/pipeline.h"

namespace sinter::tool {
namespace {

std::string defaultOutput(const std::string& path, const std::string& emit) {
  std::string stem = std::filesystem::path(path).stem().string();
  if (emit == "obj") return stem + ".o";
  if (emit == "llvm") return stem + ".ll";
  if (emit == "asm") return stem + ".s";
  return stem;
}

void writeText(const std::string& path, const std::string& text) {
  std::ofstream os(path, std::ios::binary);
  os << text;
  os.close();
  if (!os) throw std::runtime_error(fmt::format("cannot write '{}'", path));
}

std::string shellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Links the model's object with the runtime's training driver: a standalone executable that needs
// nothing of the compiler or LLVM at run time. The runtime archives and link flags come from CMake;
// SINTER_RUNTIME_DIR and CXX may point elsewhere.
void linkExecutable(const std::string& object, const std::string& output) {
  std::string mainLib = SINTER_EXE_MAIN_LIB, runtimeLib = SINTER_RUNTIME_LIB;
  if (const char* dir = std::getenv("SINTER_RUNTIME_DIR")) {
    mainLib = std::string(dir) + "/libsinter_exe_main.a";
    runtimeLib = std::string(dir) + "/libsinter_runtime.a";
  }
  const char* cxx = std::getenv("CXX");
  const std::string cmd = fmt::format("{} -o {} {} {} {} -lz -lm {}", cxx && *cxx ? cxx : "c++", shellQuote(output),
                                      shellQuote(object), shellQuote(mainLib), shellQuote(runtimeLib), SINTER_EXE_LINK_FLAGS);
  const int status = std::system(cmd.c_str());
  if (status != 0)
    throw std::runtime_error(fmt::format("linking failed (exit status {}): {}", WEXITSTATUS(status), cmd));
}

}  // namespace

int runBuild(const std::string& path, const BuildOptions& opts) {
  frontend::DiagnosticEngine diags;
  auto m = compileModel(path, diags);
  if (!m) return reportDiagnostics(diags);
  const std::string out = opts.output.empty() ? defaultOutput(path, opts.emit) : opts.output;
  if (opts.emit == "llvm") {
    writeText(out, codegen::emitLLVMText(*m, opts.codegen));
  } else if (opts.emit == "asm") {
    writeText(out, codegen::emitAssembly(*m, opts.codegen));
  } else if (opts.emit == "obj") {
    codegen::emitObjectFile(*m, opts.codegen, out);
  } else if (opts.emit == "exe") {
    if (!m->train) {
      fmt::print(stderr, "error: {}: a training executable needs a train block\n", path);
      return 1;
    }
    const std::string object = out + ".o.tmp";
    codegen::emitObjectFile(*m, opts.codegen, object);
    try {
      linkExecutable(object, out);
    } catch (...) {
      std::filesystem::remove(object);
      throw;
    }
    std::filesystem::remove(object);
  } else {
    fmt::print(stderr, "error: unknown --emit kind '{}' (obj, exe, llvm, asm)\n", opts.emit);
    return 1;
  }
  fmt::print(stderr, "wrote {}\n", out);
  return 0;
}

}  // namespace sinter::tool
