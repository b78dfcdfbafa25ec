// Engine factory: the one place that knows every engine by name.
#include "engine.h"

#include <unistd.h>

#include <cerrno>

namespace isoprobe {

int sync_flush(int fd, bool datasync, Error* e) {
  if ((datasync ? fdatasync(fd) : fsync(fd)) != 0)
    return sys_error(e, errno, datasync ? "fdatasync" : "fsync", "flushing the data file failed");
  return 0;
}

std::unique_ptr<Engine> make_io_uring_engine();
std::unique_ptr<Engine> make_psync_engine();
std::unique_ptr<Engine> make_pvsync2_engine();
std::unique_ptr<Engine> make_null_engine();

std::unique_ptr<Engine> make_engine(const std::string& name) {
  if (name == "psync") return make_psync_engine();
  if (name == "pvsync2") return make_pvsync2_engine();
  if (name == "io_uring") return make_io_uring_engine();
  if (name == "null") return make_null_engine();
  return nullptr;
}

}  // namespace isoprobe
