// `sinter build`: an object file, LLVM IR, assembly, or a training executable linked with the runtime.
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tools/sinter/commands.h"
#include "tools/sinter/header.h"
#include "compiler/driver/compilation.h"

namespace sinter::tool {
namespace {

std::string defaultOutput(const std::string& path, const std::string& emit) {
  std::string stem = std::filesystem::path(path).stem().string();
  if (emit == "obj") return stem + ".o";
  if (emit == "llvm") return stem + ".ll";
  if (emit == "asm") return stem + ".s";
  if (emit == "header") return stem + ".h";
  if (emit == "static") return "lib" + stem + ".a";
  if (emit == "shared") return "lib" + stem + ".so";
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

void run(const std::string& cmd, const char* what) {
  const int status = std::system(cmd.c_str());
  if (status != 0)
    throw std::runtime_error(fmt::format("{} failed (exit status {}): {}", what, WEXITSTATUS(status), cmd));
}

// The runtime archives and link flags come from CMake; SINTER_RUNTIME_DIR and CXX may point elsewhere.
std::string runtimeLib(const char* file, const char* builtIn) {
  if (const char* dir = std::getenv("SINTER_RUNTIME_DIR")) return std::string(dir) + "/" + file;
  return builtIn;
}

std::string cxx() {
  const char* c = std::getenv("CXX");
  return c && *c ? c : "c++";
}

// Links the model's object with the runtime's training driver (exe), or with the runtime alone into a
// self-contained shared library: neither needs anything of the compiler or LLVM at run time.
void link(const std::string& object, const std::string& output, bool shared) {
  // A shared library exports the whole C API, which the model's object does not reference: take every
  // member of the runtime archive.
  const std::string runtime = shellQuote(runtimeLib("libsinter_runtime.a", SINTER_RUNTIME_LIB));
  const std::string libs = shared ? "-Wl,--whole-archive " + runtime + " -Wl,--no-whole-archive"
                                  : shellQuote(runtimeLib("libsinter_exe_main.a", SINTER_EXE_MAIN_LIB)) + " " + runtime;
  run(fmt::format("{} {}-o {} {} {} -lz -lm {}", cxx(), shared ? "-shared " : "", shellQuote(output),
                  shellQuote(object), libs, SINTER_EXE_LINK_FLAGS),
      "linking");
}

// A static library: the runtime archive with the model's object added.
void archive(const std::string& object, const std::string& output) {
  std::filesystem::copy_file(runtimeLib("libsinter_runtime.a", SINTER_RUNTIME_LIB), output,
                             std::filesystem::copy_options::overwrite_existing);
  run(fmt::format("ar rcs {} {}", shellQuote(output), shellQuote(object)), "archiving");
}

}  // namespace

int runBuild(const std::string& path, const BuildOptions& opts) {
  driver::Options o;
  o.codegen = opts.codegen;
  driver::Compilation c(path, o);
  if (!c.ok()) return c.reportErrors();
  const std::string out = opts.output.empty() ? defaultOutput(path, opts.emit) : opts.output;
  if (opts.emit == "llvm") {
    writeText(out, c.llvmText());
  } else if (opts.emit == "asm") {
    writeText(out, c.assembly());
  } else if (opts.emit == "obj") {
    c.writeObject(out);
  } else if (opts.emit == "header") {
    writeText(out, emitHeader(c.optimized(), path, opts.codegen.descriptor));
  } else if (opts.emit == "exe" || opts.emit == "shared" || opts.emit == "static") {
    if (opts.emit == "exe" && !c.graph().train) {
      fmt::print(stderr, "error: {}: a training executable needs a train block\n", path);
      return 1;
    }
    const std::string object = out + ".o.tmp";
    c.writeObject(object);
    try {
      if (opts.emit == "static") archive(object, out);
      else link(object, out, opts.emit == "shared");
    } catch (...) {
      std::filesystem::remove(object);
      throw;
    }
    std::filesystem::remove(object);
  } else {
    fmt::print(stderr, "error: unknown --emit kind '{}' (exe, obj, static, shared, header, llvm, asm)\n", opts.emit);
    return 1;
  }
  fmt::print(stderr, "wrote {}\n", out);
  return 0;
}

}  // namespace sinter::tool
