#include "frontend/source.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace sinter::frontend {

SourceFile::SourceFile(std::string name, std::string_view text) : name_(std::move(name)), text_(text) {
  lineStarts_.push_back(0);
  for (std::size_t i = 0; i < text_.size(); ++i)
    if (endsLine(text_, i)) lineStarts_.push_back(i + 1);
}

std::string_view SourceFile::line(int n) const {
  if (n < 1 || n > lineCount()) return {};
  const std::size_t begin = lineStarts_[static_cast<std::size_t>(n - 1)];
  std::size_t end = n < lineCount() ? lineStarts_[static_cast<std::size_t>(n)] - 1 : text_.size();
  if (end > begin && text_[end - 1] == '\r') --end;
  return text_.substr(begin, end - begin);
}

std::optional<std::string> readSourceFile(const std::string& path, std::string& error) {
  // stdio rather than iostreams: it reports why a read failed through errno (e.g. "Is a directory").
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buf[1 << 16];
  while (true) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    text.append(buf, n);
    if (text.size() > kMaxSourceBytes) {
      error = "file is larger than 256 MiB";
      return std::nullopt;
    }
    if (n < sizeof buf) break;
  }
  if (std::ferror(f.get())) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  return text;
}

}  // namespace sinter::frontend
