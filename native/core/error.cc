// The core's system errors: a stable code from errno, the failing call and a message for people.
#include "error.h"

#include <cerrno>
#include <cstring>
#include <string>

namespace isoprobe {

int sys_error(Error* e, int err, const std::string& syscall, const std::string& message) {
  e->err = err;
  static const struct { int n; const char* c; } names[] = {
      {EIO, "EIO"}, {ENOSPC, "ENOSPC"}, {EACCES, "EACCES"}, {EPERM, "EPERM"}, {ENOENT, "ENOENT"},
      {EROFS, "EROFS"}, {EINVAL, "EINVAL"}, {EOPNOTSUPP, "EOPNOTSUPP"}, {ENOSYS, "ENOSYS"},
      {EBUSY, "EBUSY"}, {ENOMEM, "ENOMEM"}, {EEXIST, "EEXIST"}, {ECANCELED, "ECANCELED"},
      {EISDIR, "EISDIR"}, {ENOTDIR, "ENOTDIR"}, {EFBIG, "EFBIG"}, {EBADF, "EBADF"}, {EAGAIN, "EAGAIN"},
      {ECONNREFUSED, "ECONNREFUSED"}, {ECONNRESET, "ECONNRESET"}, {ETIMEDOUT, "ETIMEDOUT"},
      {EADDRINUSE, "EADDRINUSE"}, {EPIPE, "EPIPE"}, {EHOSTUNREACH, "EHOSTUNREACH"}, {ENETUNREACH, "ENETUNREACH"},
  };
  e->code = "E" + std::to_string(err);
  for (auto& n : names)
    if (n.n == err) e->code = n.c;
  e->syscall = syscall;
  e->message = message + (err ? std::string(": ") + strerror(err) : "");
  return -err;
}

}  // namespace isoprobe
