// The core's error value: it returns these and never prints; callers format them.
#pragma once
#include <string>

namespace isoprobe {

struct Error {
  int err = 0;             // positive errno, 0 when none
  std::string code;        // stable string code: "EINVALOPT", "EIO", "ENOTSUP", ...
  std::string syscall;     // the failing call, when one failed
  std::string option;      // the option at fault, when one is
  std::string message;     // for people: names the option, the value and what was expected

  bool failed() const { return !code.empty(); }
};

// "--bs 3000: expected a multiple of 512 with --direct"
inline int option_error(Error* e, const std::string& option, const std::string& message) {
  e->err = 22;  // EINVAL
  e->code = "EINVALOPT";
  e->option = option;
  e->message = message;
  return -22;
}

int sys_error(Error* e, int err, const std::string& syscall, const std::string& message);

}  // namespace isoprobe
