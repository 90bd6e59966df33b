#include "tools/sinter/install_paths.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace sinter::tool {
namespace fs = std::filesystem;

namespace {

// Every directory from the running executable's own up to the root.
std::vector<fs::path> executableAncestors() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> dirs;
  if (ec) return dirs;
  for (fs::path d = exe.parent_path(); !d.empty(); d = d.parent_path()) {
    dirs.push_back(d);
    if (d == d.root_path()) break;
  }
  return dirs;
}

}  // namespace

RuntimeArchives runtimeArchives(const std::string& triple) {
  const fs::path sub = triple.empty() ? fs::path("lib") : fs::path("lib") / "sinter" / triple;
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("SINTER_RUNTIME_DIR"); dir && *dir) {
    candidates.emplace_back(dir);
  } else {
    for (const fs::path& d : executableAncestors()) candidates.push_back(d / sub);
  }
  std::string looked;
  for (const fs::path& c : candidates) {
    std::error_code ec;
    if (fs::is_regular_file(c / "libsinter_runtime.a", ec))
      return {(c / "libsinter_runtime.a").string(), (c / "libsinter_exe_main.a").string()};
    looked += fmt::format("\n  {}", c.string());
  }
  throw std::runtime_error(fmt::format(
      "cannot find the Sinter runtime (libsinter_runtime.a){}; looked in:{}\n(set SINTER_RUNTIME_DIR to its directory)",
      triple.empty() ? "" : " built for " + triple, looked));
}

std::vector<std::string> sinterPathDirs() {
  std::vector<std::string> dirs;
  const char* env = std::getenv("SINTER_PATH");
  if (!env) return dirs;
  std::string s = env;
  for (std::size_t start = 0; start <= s.size();) {
    const std::size_t end = std::min(s.find(':', start), s.size());
    if (end > start) dirs.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return dirs;
}

}  // namespace sinter::tool
