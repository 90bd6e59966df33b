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

}  // namespace sinter::rt
