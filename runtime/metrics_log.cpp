#include "runtime/metrics_log.h"

#include "runtime/error.h"
#include "runtime/file_io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sinter::rt {

size_t metricsLinesToKeep(const std::string& text, int64_t completedEpochs) {
  size_t keep = 0;
  while (keep < text.size()) {
    const size_t end = text.find('\n', keep);
    if (end == std::string::npos) break;  // a line without its newline was cut short
    const auto j = nlohmann::json::parse(text.begin() + static_cast<std::ptrdiff_t>(keep),
                                         text.begin() + static_cast<std::ptrdiff_t>(end), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("epoch") || !j["epoch"].is_number_integer() ||
        j["epoch"].get<int64_t>() > completedEpochs)
      break;
    keep = end + 1;
  }
  return keep;
}

void MetricsLog::open(const std::string& path, bool resume, int64_t completedEpochs) {
  path_ = path;
  auto fail = [&](const std::string& what) {
    return Error("--metrics: cannot " + what + " " + path + ": " + std::strerror(errno));
  };
  struct stat st {};
  const bool regular = ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  if (resume && regular) {
    const size_t keep = metricsLinesToKeep(readFile(path), completedEpochs);
    if (::truncate(path.c_str(), static_cast<off_t>(keep)) != 0) throw fail("truncate");
  }
  // Appending: after a resume, the kept lines stay on the disk; they are never rewritten from memory.
  file_.reset(std::fopen(path.c_str(), resume ? "a" : "w"));
  if (!file_) throw fail("write");
}

void MetricsLog::write(const nlohmann::ordered_json& line) {
  if (!file_) return;
  const std::string text = line.dump() + "\n";
  if (std::fputs(text.c_str(), file_.get()) < 0 || std::fflush(file_.get()) != 0)
    throw Error("--metrics: cannot write " + path_ + ": " + std::strerror(errno));
  // A device or a pipe (EINVAL) has nothing to sync.
  if (!syncFd(fileno(file_.get())) && errno != EINVAL && errno != EROFS)
    throw Error("--metrics: cannot sync " + path_ + ": " + std::strerror(errno));
}

}  // namespace sinter::rt
