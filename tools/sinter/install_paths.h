// Where `sinter` finds what it links into executables and libraries. Nothing is compiled in: the build tree
// and an install prefix share one layout (bin/ or tools/ beside lib/ and share/sinter/lib/), so the tool
// looks beside its own executable, and a relocated copy of either tree still works.
#pragma once

#include <string>
#include <vector>

namespace sinter::tool {

// The runtime's static archives for a target, `triple` empty for the host's.
struct RuntimeArchives {
  std::string runtime;  // libsinter_runtime.a
  std::string exeMain;  // libsinter_exe_main.a: main() of a training executable
};

// SINTER_RUNTIME_DIR when set; else the nearest lib/ above the executable holding libsinter_runtime.a
// (for a cross target, its lib/sinter/<triple>/). Throws std::runtime_error naming every place looked at.
RuntimeArchives runtimeArchives(const std::string& triple);

// The directories SINTER_PATH lists (colon-separated), searched by `import` after the -I directories.
std::vector<std::string> sinterPathDirs();

}  // namespace sinter::tool
