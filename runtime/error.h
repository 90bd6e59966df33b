// The one exception type of the runtime: its message is complete and names the file or tensor at fault,
// ready to be printed after "error: ".
#pragma once

#include <stdexcept>
#include <string>

namespace sinter::rt {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A file that could not be opened, read or written, as opposed to one whose content is wrong: the C API
// reports the two with different status codes.
class IoError : public Error {
 public:
  using Error::Error;
};

}  // namespace sinter::rt
