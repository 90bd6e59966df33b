// Whole-file reads and the checks behind atomic writes, shared by every reader and writer of the runtime,
// so that each one names the file in its errors and none replaces what it should not.
#pragma once

#include <string>

namespace sinter::rt {

// The bytes of the file at `path`. Throws IoError naming the path when it cannot be opened or read, and
// when it is a directory (which open(2) accepts and read(2) then fails on).
std::string readFile(const std::string& path);

// The file an atomic write to `path` (a temporary file renamed over it) must replace: `path` itself, or
// for a symbolic link the file it points to (resolved through every link), so that the link stays a link
// and its target gets the new contents, as editors do. Throws Error naming `what` (a flag such as
// "--save", or "weights") when the target exists and is not a regular file: a rename over a device node,
// a FIFO or a socket would replace it with a plain file.
std::string atomicWriteTarget(const std::string& path, const std::string& what);

// Checks, before any work is done, that an atomic write to `path` can succeed: the target is a regular
// file or absent (as atomicWriteTarget), and its directory exists and accepts a new file (a probe file is
// created and removed). Throws Error naming `what` and the reason otherwise.
void checkWritable(const std::string& path, const std::string& what);

// Checks, before any work is done, that a file written in place (appended to, as the metrics file) can be
// written: an existing file (or device: /dev/null is a fine destination) must open for writing, a new
// one must be creatable in its directory. A directory is refused. Throws Error naming `what`.
void checkAppendable(const std::string& path, const std::string& what);

// Flushes the file's data to the disk (fsync), retrying on EINTR. Returns false on failure (errno set).
bool syncFd(int fd);

}  // namespace sinter::rt
