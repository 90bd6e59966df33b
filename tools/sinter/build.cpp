// `sinter build`: an object file, LLVM IR, assembly, a C header, or an artifact linked with the runtime
// (tools/sinter/link.h); with --depfile, the files it was made from, for make and ninja.
#include <fmt/format.h>
#include <llvm/TargetParser/Host.h>
#include <llvm/TargetParser/Triple.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "compiler/driver/compilation.h"
#include "tools/sinter/commands.h"
#include "tools/sinter/header.h"
#include "tools/sinter/link.h"

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

// A Makefile rule "output: model imports...". The imports are the files the model's nodes come from (its
// layers and functions); every path is escaped as make and ninja read it.
std::string depfileRule(const std::string& output, const std::string& model, const ir::Module& m) {
  std::set<std::string> files = {std::filesystem::absolute(model).lexically_normal().string()};
  auto addFrom = [&files](const ir::Graph& g) {
    for (const ir::Node& n : g.nodes)
      if (!n.loc.file.empty()) files.insert(std::filesystem::absolute(n.loc.file).lexically_normal().string());
  };
  addFrom(m.forward);
  auto escape = [](const std::string& s) {
    std::string out;
    for (char c : s) out += c == ' ' ? std::string("\\ ") : c == '$' ? std::string("$$") : std::string(1, c);
    return out;
  };
  std::string rule = escape(output) + ":";
  for (const std::string& f : files) rule += " \\\n  " + escape(f);
  return rule + "\n";
}

// `--emit exe|shared|static`: the objects (one per part, parallel_codegen.h), linked with the runtime.
void writeLinked(driver::Compilation& c, const BuildOptions& opts, const std::string& out,
                 const std::string& descriptor) {
  LinkJob job{c.writeObjects(out + ".o.tmp"), out, descriptor, opts.codegen.targetTriple, opts.mpi};
  const auto removeObjects = [&job] {
    for (const std::string& o : job.objects) std::filesystem::remove(o);
  };
  try {
    if (opts.emit == "static") archiveStatic(job);
    else if (opts.emit == "shared") linkShared(job);
    else linkExecutable(job);
  } catch (...) {
    removeObjects();
    throw;
  }
  removeObjects();
}

}  // namespace

std::string portableCpu(const std::string& emit, const codegen::Options& opts) {
  if (emit != "obj" && emit != "static" && emit != "shared" && emit != "exe") return "";
  const llvm::Triple triple(opts.targetTriple.empty() ? llvm::sys::getProcessTriple() : opts.targetTriple);
  return triple.getArch() == llvm::Triple::x86_64 ? "x86-64-v3" : "";
}

int runBuild(const std::string& path, const BuildOptions& opts) {
  driver::Options o;
  o.codegen = opts.codegen;
  // A training executable's main() calls sinter_model; a library's descriptor is named after its model.
  if (opts.emit != "exe") o.codegen.descriptor.clear();
  if (opts.mpi && (opts.emit != "exe" || !opts.codegen.targetTriple.empty())) {
    fmt::print(stderr,
               "error: --mpi builds a training executable for this machine's MPI: it needs --emit exe and "
               "no --target-triple\n");
    return 1;
  }
  driver::Compilation c(path, o);
  if (!c.ok()) return c.reportErrors();
  const std::string out = opts.output.empty() ? defaultOutput(path, opts.emit) : opts.output;
  const std::string descriptor = codegen::descriptorSymbol(o.codegen, c.graph().name);
  if (opts.emit == "llvm") {
    writeText(out, c.llvmText());
  } else if (opts.emit == "asm") {
    writeText(out, c.assembly());
  } else if (opts.emit == "obj") {
    c.writeObject(out);
  } else if (opts.emit == "header") {
    writeText(out, emitHeader(c.optimized(), path, o.codegen));
  } else if (opts.emit == "exe" || opts.emit == "shared" || opts.emit == "static") {
    if (opts.emit == "exe" && !c.graph().train) {
      fmt::print(stderr, "error: {}: a training executable needs a train block\n", path);
      return 1;
    }
    writeLinked(c, opts, out, descriptor);
  } else {
    fmt::print(stderr, "error: unknown --emit kind '{}' (exe, obj, static, shared, header, llvm, asm)\n", opts.emit);
    return 1;
  }
  if (!opts.depfile.empty()) writeText(opts.depfile, depfileRule(out, path, c.graph()));
  fmt::print(stderr, "wrote {}\n", out);
  return 0;
}

}  // namespace sinter::tool
