// io_uring through liburing: a ring sized to the queue depth, optional SQPOLL / IOPOLL,
// registered file and fixed buffers. Completions are stamped one by one as they are seen.
#include <liburing.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "clock.h"
#include "engine.h"
#include "env.h"

namespace isoprobe {

class IoUringEngine : public Engine {
 public:
  ~IoUringEngine() override { cleanup(); }
  const char* name() const override { return "io_uring"; }
  bool is_async() const override { return true; }
  std::string detail() const override { return detail_; }

  int init(const EngineSetup& s, Error* e) override {
    fd_ = s.fd;
    fixed_files_ = s.register_files;
    fixed_bufs_ = s.fixed_bufs;
    iopoll_ = s.iopoll;
    io_uring_params p;
    std::memset(&p, 0, sizeof p);
    if (s.sqpoll) {
      p.flags |= IORING_SETUP_SQPOLL;
      p.sq_thread_idle = 2000;  // ms the kernel thread spins before it sleeps
    }
    if (s.iopoll) p.flags |= IORING_SETUP_IOPOLL;
    unsigned entries = s.qd + 1;  // one spare for a flush
    // As fio does: a CQ no larger than needed; no IPI to post completions (COOP_TASKRUN); and,
    // since this one thread is the only submitter, completion work deferred until we reap.
    // Older kernels refuse these flags: drop them one by one, and record what the ring has.
    p.flags |= IORING_SETUP_CQSIZE;
    p.cq_entries = entries;
    unsigned optional[] = {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_COOP_TASKRUN, IORING_SETUP_CQSIZE};
    if (!s.sqpoll) p.flags |= IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    unsigned want_flags = p.flags;
    int rc = io_uring_queue_init_params(entries, &ring_, &p);
    for (unsigned drop : optional) {
      if (rc != -EINVAL || !(want_flags & drop)) continue;
      want_flags &= ~drop;
      std::memset(&p, 0, sizeof p);
      p.flags = want_flags;
      p.cq_entries = entries;
      if (s.sqpoll) p.sq_thread_idle = 2000;
      rc = io_uring_queue_init_params(entries, &ring_, &p);
    }
    if (rc < 0) {
      std::string why = "io_uring_setup failed";
      if (rc == -ENOSYS) why = io_uring_enosys_reason();
      else if (rc == -EPERM) why = "io_uring is not permitted here (kernel.io_uring_disabled, seccomp or the sandbox)";
      else if (rc == -EINVAL && (s.sqpoll || s.iopoll))
        why = std::string("the kernel refused ") + (s.sqpoll ? "--sqpoll " : "") + (s.iopoll ? "--iopoll" : "");
      else if (rc == -ENOMEM) why = "not enough locked memory for the ring (RLIMIT_MEMLOCK)";
      return sys_error(e, -rc, "io_uring_setup", why);
    }
    ring_ok_ = true;
    detail_ = "entries=" + std::to_string(p.sq_entries);
    if (want_flags & IORING_SETUP_DEFER_TASKRUN) detail_ += " defer_taskrun";
    if (want_flags & IORING_SETUP_COOP_TASKRUN) detail_ += " coop_taskrun";
    if (s.sqpoll) detail_ += " sqpoll";
    if (s.iopoll) detail_ += " iopoll";
    if (fixed_files_) {
      rc = io_uring_register_files(&ring_, &fd_, 1);
      if (rc < 0) return sys_error(e, -rc, "io_uring_register_files", "--register-files: the kernel refused to register the file");
      detail_ += " register_files";
    }
    if (fixed_bufs_) {
      std::vector<iovec> iov(s.bufs.size());
      for (size_t i = 0; i < s.bufs.size(); i++) iov[i] = {s.bufs[i], size_t(s.bs)};
      rc = io_uring_register_buffers(&ring_, iov.data(), unsigned(iov.size()));
      if (rc < 0)
        return sys_error(e, -rc, "io_uring_register_buffers",
                         rc == -ENOMEM ? "--fixed-bufs: not enough locked memory to register the buffers (RLIMIT_MEMLOCK)"
                                       : "--fixed-bufs: the kernel refused to register the buffers");
      detail_ += " fixed_bufs";
    }
    pending_.reserve(s.qd);
    return 0;
  }

  int queue(IoUnit* u, Error* e) override {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) return sys_error(e, EBUSY, "io_uring_get_sqe", "the submission queue is full (internal error)");
    int fd = fixed_files_ ? 0 : fd_;
    if (fixed_bufs_) {
      if (u->write) io_uring_prep_write_fixed(sqe, fd, u->buf, u->len, u->offset, int(u->slot));
      else io_uring_prep_read_fixed(sqe, fd, u->buf, u->len, u->offset, int(u->slot));
    } else {
      if (u->write) io_uring_prep_write(sqe, fd, u->buf, u->len, u->offset);
      else io_uring_prep_read(sqe, fd, u->buf, u->len, u->offset);
    }
    if (fixed_files_) sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, u);
    pending_.push_back(u);
    return kQueued;
  }

  int commit(Error* e) override {
    if (pending_.empty()) return 0;
    int rc;
    do rc = io_uring_submit(&ring_); while (rc == -EINTR);
    uint64_t t = now_ns();
    if (rc < 0) return sys_error(e, -rc, "io_uring_enter", "submitting to the ring failed");
    for (IoUnit* u : pending_) u->t_submit = t;
    int n = int(pending_.size());
    pending_.clear();
    return n;
  }

  int reap(unsigned min, IoUnit** out, unsigned max, Error* e) override {
    io_uring_cqe* cqe;
    if (min > 0) {
      int rc;
      do rc = io_uring_wait_cqe(&ring_, &cqe); while (rc == -EINTR);
      if (rc < 0) return sys_error(e, -rc, "io_uring_enter", "waiting for completions failed");
    }
    unsigned n = 0;
    while (n < max && io_uring_peek_cqe(&ring_, &cqe) == 0) {
      IoUnit* u = static_cast<IoUnit*>(io_uring_cqe_get_data(cqe));
      u->t_done = now_ns();
      u->res = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      if (iopoll_ && u->res == -EOPNOTSUPP)
        return sys_error(e, EOPNOTSUPP, "io_uring_enter", "--iopoll: the device does not support polled completions");
      out[n++] = u;
    }
    return int(n);
  }

  int flush(bool datasync, Error* e) override {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) return sys_error(e, EBUSY, "io_uring_get_sqe", "no room to queue a flush (internal error)");
    io_uring_prep_fsync(sqe, fixed_files_ ? 0 : fd_, datasync ? IORING_FSYNC_DATASYNC : 0);
    if (fixed_files_) sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, nullptr);
    int rc;
    do rc = io_uring_submit(&ring_); while (rc == -EINTR);
    if (rc < 0) return sys_error(e, -rc, "io_uring_enter", "submitting a flush failed");
    io_uring_cqe* cqe;
    do rc = io_uring_wait_cqe(&ring_, &cqe); while (rc == -EINTR);
    if (rc < 0) return sys_error(e, -rc, "io_uring_enter", "waiting for a flush failed");
    int res = cqe->res;
    io_uring_cqe_seen(&ring_, cqe);
    if (res < 0) return sys_error(e, -res, datasync ? "fdatasync" : "fsync", "flushing the data file through io_uring failed");
    return 0;
  }

  void cleanup() override {
    if (ring_ok_) io_uring_queue_exit(&ring_);
    ring_ok_ = false;
  }

 private:
  io_uring ring_;
  bool ring_ok_ = false;
  int fd_ = -1;
  bool fixed_files_ = false, fixed_bufs_ = false, iopoll_ = false;
  std::vector<IoUnit*> pending_;
  std::string detail_;
};

std::unique_ptr<Engine> make_io_uring_engine() { return std::make_unique<IoUringEngine>(); }

static EngineCaps io_uring_caps() {
  EngineCaps c;
  c.async = true;
  c.polling = true;
  c.registered = true;
  return c;
}
extern const EngineInfo kIoUringEngine = {"io_uring", io_uring_caps(), {"sqpoll", "iopoll", "register_files", "fixed_bufs"},
                                          "gVisor answers io_uring reads and writes with EINVAL; use --engine psync or pvsync2 there", make_io_uring_engine};

}  // namespace isoprobe
