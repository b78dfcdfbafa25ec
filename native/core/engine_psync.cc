// psync: one pread/pwrite per I/O, timed around the system call.
#include <unistd.h>

#include <cerrno>

#include "clock.h"
#include "engine.h"

namespace isoprobe {

class PsyncEngine : public Engine {
 public:
  const char* name() const override { return "psync"; }
  bool is_async() const override { return false; }
  int init(const EngineSetup& s, Error*) override { fd_ = s.fd; return 0; }
  int queue(IoUnit* u, Error*) override {
    ssize_t r = u->write ? pwrite(fd_, u->buf, u->len, off_t(u->offset))
                         : pread(fd_, u->buf, u->len, off_t(u->offset));
    u->t_done = now_ns();
    u->res = r < 0 ? -errno : r;
    return kCompleted;
  }
  int flush(bool datasync, Error* e) override { return sync_flush(fd_, datasync, e); }

 private:
  int fd_ = -1;
};

std::unique_ptr<Engine> make_psync_engine() { return std::make_unique<PsyncEngine>(); }

extern const EngineInfo kPsyncEngine = {"psync", EngineCaps{}, {}, "", make_psync_engine};

}  // namespace isoprobe
