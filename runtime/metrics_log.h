// The driver's metrics file (--metrics): JSON Lines, one object per epoch, each line on the disk before
// the next epoch starts, and kept across a resume.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace sinter::rt {

class MetricsLog {
 public:
  // A fresh run (resume false) starts the file anew. A resumed run keeps the lines of the first
  // `completedEpochs` epochs, drops whatever follows them (lines of epochs the checkpoint does not
  // hold, a line cut short by a crash) and appends after them. Throws Error naming the file.
  void open(const std::string& path, bool resume, int64_t completedEpochs);

  // Appends one line and flushes it to the disk (fsync), so that a kill at any moment loses no line
  // written before it. Does nothing before open().
  void write(const nlohmann::ordered_json& line);

 private:
  struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::string path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
};

// The byte length of the lines of `text` to keep when resuming after `completedEpochs` epochs: whole
// lines, each a JSON object whose "epoch" is at most completedEpochs, up to the first that is not.
size_t metricsLinesToKeep(const std::string& text, int64_t completedEpochs);

}  // namespace sinter::rt
