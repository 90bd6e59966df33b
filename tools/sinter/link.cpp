#include "tools/sinter/link.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "tools/sinter/install_paths.h"

namespace sinter::tool {
namespace {

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

// The C++ driver that links: $CXX, else `c++` for the host and Debian's `<triple>-g++` for a cross target.
// The compiler driver that links, with the faster linker for this host when the build found one.
std::string cxx(const std::string& triple) {
  const char* c = std::getenv("CXX");
  const std::string driver = c && *c ? c : triple.empty() ? "c++" : triple + "-g++";
  const std::string linker = triple.empty() ? SINTER_HOST_LINKER_FLAG : "";
  return linker.empty() ? driver : driver + " " + linker;
}

// A file beside the output, removed when the link is done (or failed).
class ScratchFile {
 public:
  ScratchFile(const std::string& path, const std::string& text) : path_(path) {
    std::ofstream os(path);
    os << text;
    if (!os.flush()) throw std::runtime_error(fmt::format("cannot write '{}'", path));
  }
  ~ScratchFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string quotedObjects(const LinkJob& job) {
  std::string out;
  for (const std::string& o : job.objects) out += (out.empty() ? "" : " ") + shellQuote(o);
  return out;
}

}  // namespace

void linkExecutable(const LinkJob& job) {
  const RuntimeArchives rt = runtimeArchives(job.triple);
  std::string main = rt.exeMain, mpi;
  if (job.mpi) {
    main = (std::filesystem::path(rt.runtime).parent_path() / "libsinter_exe_main_mpi.a").string();
    if (!job.triple.empty() || !std::filesystem::is_regular_file(main))
      throw std::runtime_error(fmt::format(
          "--mpi: this Sinter was built without MPI ({} not found); install Open MPI (libopenmpi-dev) and rebuild it",
          main));
    mpi = SINTER_MPI_LINK_FLAGS;
  }
  run(fmt::format("{} -o {} {} {} {} -lz -lm {} {}", cxx(job.triple), shellQuote(job.output), quotedObjects(job),
                  shellQuote(main), shellQuote(rt.runtime), mpi, SINTER_EXE_LINK_FLAGS),
      "linking");
}

// The C API is not referenced by the model's object: every member of the runtime archive goes in, and the
// version script keeps only the model's descriptor and the sinter_* functions visible, so that two model
// libraries in one process keep their own symbols (-Bsymbolic: their own runtime, too).
void linkShared(const LinkJob& job) {
  const RuntimeArchives rt = runtimeArchives(job.triple);
  const ScratchFile script(job.output + ".exports.tmp",
                           fmt::format("{{\n  global: {}; sinter_*;\n  local: *;\n}};\n", job.descriptor));
  // The file's own name is its soname: a program linked with it finds it by that name on its rpath.
  const std::string soname = std::filesystem::path(job.output).filename().string();
  run(fmt::format("{} -shared -o {} {} -Wl,--whole-archive {} -Wl,--no-whole-archive -lz -lm "
                  "-Wl,--version-script={} -Wl,-Bsymbolic -Wl,-soname,{} {}",
                  cxx(job.triple), shellQuote(job.output), quotedObjects(job), shellQuote(rt.runtime),
                  shellQuote(script.path()), shellQuote(soname), SINTER_EXE_LINK_FLAGS),
      "linking");
}

// The runtime archive with the model's object added: one archive to link, whatever the user's build.
void archiveStatic(const LinkJob& job) {
  const RuntimeArchives rt = runtimeArchives(job.triple);
  std::filesystem::copy_file(rt.runtime, job.output, std::filesystem::copy_options::overwrite_existing);
  const char* ar = std::getenv("AR");
  const std::string archiver = ar && *ar ? ar : job.triple.empty() ? "ar" : job.triple + "-ar";
  run(fmt::format("{} rcs {} {}", archiver, shellQuote(job.output), quotedObjects(job)), "archiving");
}

}  // namespace sinter::tool
