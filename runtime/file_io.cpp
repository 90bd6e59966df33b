#include "runtime/file_io.h"

#include "runtime/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sinter::rt {
namespace {

std::string errnoText() { return std::strerror(errno); }

const char* typeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Closes a file descriptor at scope exit.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::string readFile(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw IoError(path + ": cannot open: " + errnoText());
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw IoError(path + ": cannot stat: " + errnoText());
  if (S_ISDIR(st.st_mode)) throw IoError(path + ": is a directory, not a file");
  std::string out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(f.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(path + ": read error: " + errnoText());
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

std::string atomicWriteTarget(const std::string& path, const std::string& what) {
  std::filesystem::path p = path;
  for (int links = 0;; ++links) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return p.string();  // absent (or unreachable: the write will say why)
    if (S_ISREG(st.st_mode)) return p.string();
    if (!S_ISLNK(st.st_mode)) {
      const std::string via = p.string() == path ? "" : " (the target of link " + path + ")";
      throw IoError(what + " " + p.string() + via + " is " + typeName(st.st_mode) +
                    ", not a regular file; refusing to replace it");
    }
    if (links == 40) throw IoError(what + " " + path + ": too many levels of symbolic links");
    std::error_code ec;
    const std::filesystem::path target = std::filesystem::read_symlink(p, ec);
    if (ec) throw IoError(what + " " + p.string() + ": cannot read the link: " + ec.message());
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
}

void checkWritable(const std::string& path, const std::string& what) {
  const std::string target = atomicWriteTarget(path, what);
  std::string dir = std::filesystem::path(target).parent_path().string();
  if (dir.empty()) dir = ".";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    throw IoError(what + " " + path + ": directory " + dir +
                  (errno == ENOENT ? " does not exist" : ": " + errnoText()));
  if (!S_ISDIR(st.st_mode)) throw IoError(what + " " + path + ": " + dir + " is not a directory");
  // Permissions bits say too little (root ignores them; a read-only mount overrides them): try it.
  const std::string probe = dir + "/.sinter-write-probe-" + std::to_string(::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 && errno != EEXIST)
    throw IoError(what + " " + path + ": cannot create files in directory " + dir + ": " + errnoText());
  if (fd >= 0) {
    ::close(fd);
    ::unlink(probe.c_str());
  }
}

void checkAppendable(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return checkWritable(path, what);
  if (S_ISDIR(st.st_mode)) throw IoError(what + " " + path + " is a directory, not a file");
  Fd f{::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC)};
  if (f.fd < 0) throw IoError(what + " " + path + ": cannot write: " + errnoText());
}

bool syncFd(int fd) {
  while (::fsync(fd) != 0)
    if (errno != EINTR) return false;
  return true;
}

}  // namespace sinter::rt
