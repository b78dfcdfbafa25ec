// pvsync2: preadv2/pwritev2 with per-I/O flags (RWF_HIPRI polling, RWF_DSYNC), timed around the call.
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "clock.h"
#include "engine.h"

#ifndef RWF_HIPRI
#define RWF_HIPRI 0x00000001
#endif
#ifndef RWF_DSYNC
#define RWF_DSYNC 0x00000002
#endif

namespace isoprobe {

class Pvsync2Engine : public Engine {
 public:
  const char* name() const override { return "pvsync2"; }
  bool is_async() const override { return false; }
  std::string detail() const override {
    std::string d;
    if (rflags_ & RWF_HIPRI) d += "RWF_HIPRI ";
    if (wflags_ & RWF_DSYNC) d += "RWF_DSYNC";
    return d;
  }
  int init(const EngineSetup& s, Error*) override {
    fd_ = s.fd;
    rflags_ = s.hipri ? RWF_HIPRI : 0;
    wflags_ = rflags_ | (s.dsync_per_io ? RWF_DSYNC : 0);
    return 0;
  }
  int queue(IoUnit* u, Error* e) override {
    iovec iov{u->buf, u->len};
    ssize_t r = u->write ? pwritev2(fd_, &iov, 1, off_t(u->offset), wflags_)
                         : preadv2(fd_, &iov, 1, off_t(u->offset), rflags_);
    u->t_done = now_ns();
    if (r < 0 && errno == EOPNOTSUPP && (rflags_ & RWF_HIPRI))
      return sys_error(e, errno, u->write ? "pwritev2" : "preadv2",
                       "--hipri: this kernel or device does not support polled I/O (RWF_HIPRI)");
    u->res = r < 0 ? -errno : r;
    return kCompleted;
  }
  int flush(bool datasync, Error* e) override { return sync_flush(fd_, datasync, e); }

 private:
  int fd_ = -1;
  int rflags_ = 0, wflags_ = 0;
};

std::unique_ptr<Engine> make_pvsync2_engine() { return std::make_unique<Pvsync2Engine>(); }

static EngineCaps pvsync2_caps() {
  EngineCaps c;
  c.dsync_per_io = true;
  c.polling = true;
  return c;
}
extern const EngineInfo kPvsync2Engine = {"pvsync2", pvsync2_caps(), {"hipri"}, "", make_pvsync2_engine};

}  // namespace isoprobe
