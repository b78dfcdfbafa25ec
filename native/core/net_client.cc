// The network client's supervisor: connects one socket per connection or stream, runs the loop
// of the workload's kind (its entry in net_kind.h's registry) on threads started together, marks
// the measured window, reports progress, and merges the threads' counts and the kind's parts.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "clock.h"
#include "env.h"
#include "net.h"
#include "net_loop.h"

namespace isoprobe {

namespace netloop {

namespace {

int connect_to(Shared& sh, int type, Error* e) {
  int fd = socket(sh.addr.family(), type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return sys_error(e, errno, "socket", "creating a client socket");
  int rc = connect(fd, reinterpret_cast<const sockaddr*>(&sh.addr.ss), sh.addr.len);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = poll(&p, 1, int(sh.o.timeout / 1000000ull));
    if (rc == 0) { close(fd); return sys_error(e, ETIMEDOUT, "connect", "connecting to " + sh.o.connect + ": no answer within --timeout " + secs(sh.o.timeout)); }
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    rc = err ? -1 : 0;
    errno = err;
  }
  if (rc != 0) {
    int err = errno;
    close(fd);
    return sys_error(e, err, "connect", "connecting to " + sh.o.connect);
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  timeval tv{time_t(sh.o.timeout / 1000000000ull), suseconds_t((sh.o.timeout % 1000000000ull) / 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  if (type == SOCK_STREAM) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (sh.o.busy_poll && setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &sh.o.busy_poll, sizeof sh.o.busy_poll) != 0) {
    int err = errno;
    close(fd);
    return sys_error(e, err, "setsockopt", "--busy-poll " + std::to_string(sh.o.busy_poll) + ": SO_BUSY_POLL refused");
  }
  return fd;
}


// One connected socket per connection (rr) or stream; none left open on failure.
int connect_all(Shared& sh, unsigned n, std::vector<int>* fds, Error* e) {
  for (unsigned i = 0; i < n; i++) {
    int fd = connect_to(sh, sh.o.proto == "udp" ? SOCK_DGRAM : SOCK_STREAM, e);
    if (fd < 0) {
      for (int f : *fds) close(f);
      fds->clear();
      return fd;
    }
    fds->push_back(fd);
  }
  return 0;
}

// Starts the measuring threads together, reports progress once a second until the end (the
// threads stop themselves at t_end, bounded by their timeouts), then joins them.
uint64_t cpu_clock_ns(clockid_t c) {
  timespec ts{};
  return clock_gettime(c, &ts) == 0 ? uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec) : 0;
}

void mark(const RunHooks& hooks, const char* what) {
  if (hooks.mark) hooks.mark(hooks.ctx, what);
}

// Sleeps until `until` (now_ns() time) but at most 20 ms, so cancellation is seen promptly.
void nap_until(uint64_t until) {
  uint64_t now = now_ns();
  if (until <= now) return;
  uint64_t d = std::min<uint64_t>(until - now, 20000000ull);
  timespec ts{time_t(d / 1000000000ull), long(d % 1000000000ull)};
  nanosleep(&ts, nullptr);
}

// Starts the measuring threads together, marks the window's edges on time, reports progress once
// a second until the end (the threads stop themselves at t_end, bounded by their timeouts), then
// joins them.
void supervise(Shared& sh, const NetLoop loop, const std::vector<int>& fds, std::vector<PerThread>& pts) {
  const NetOptions& o = sh.o;
  const RunHooks& hooks = sh.hooks;
  unsigned n = unsigned(fds.size());
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < n; i++) {
    threads.emplace_back([&, i] {
      pts[i].tid = int(syscall(SYS_gettid));
      Error pe;
      const std::vector<int>& cpus = sh.cpus;
      if (!cpus.empty() && pin_thread(cpus[i % cpus.size()], o.cpus.empty() ? "cpu" : "cpus", &pe) < 0) {
        sh.fail(pe);
        return;
      }
      pts[i].ran_on.sample();
      loop(sh, fds[i], pts[i], o.seed + i, double(o.rate) / n);
      pts[i].cpu_at_end_ns = cpu_clock_ns(CLOCK_THREAD_CPUTIME_ID);
      pts[i].delay_at_end_ns = isoprobe::run_delay_ns();
    });
  }
  std::vector<clockid_t> clocks(n, CLOCK_THREAD_CPUTIME_ID);
  for (unsigned i = 0; i < n; i++)
    if (pthread_getcpuclockid(threads[i].native_handle(), &clocks[i]) != 0) clocks[i] = clockid_t(-1);
  while (sh.ready.load() < int(n) && !sh.stop_now()) sched_yield();
  sh.t_start = now_ns();
  sh.t_measure = sh.t_start + o.warmup;
  sh.t_end = sh.t_measure + o.duration;
  sh.go.store(true, std::memory_order_release);
  uint64_t next_tick = sh.t_start + 1000000000ull;
  bool measuring = false;
  while (!sh.stop_now()) {
    uint64_t now = now_ns();
    if (!measuring && now >= sh.t_measure) {
      measuring = true;
      mark(hooks, "measure-start");
      for (unsigned i = 0; i < n; i++) {
        if (clocks[i] != clockid_t(-1)) pts[i].cpu_at_measure_ns = cpu_clock_ns(clocks[i]);
        pts[i].delay_at_measure_ns = run_delay_ns(pts[i].tid);
      }
    }
    if (now >= sh.t_end) break;
    if (hooks.progress && now >= next_tick) {
      uint64_t ops = 0;
      for (auto& p : pts) ops += p.tx;
      hooks.progress(hooks.ctx, Progress{now < sh.t_measure ? "warmup" : "run", now - sh.t_start, ops, 0, 0});
      next_tick += 1000000000ull;
    }
    nap_until(std::min(measuring ? sh.t_end : sh.t_measure, hooks.progress ? next_tick : UINT64_MAX));
  }
  if (hooks.cancel && hooks.cancel->load()) sh.abort = true;
  // Blocked calls return within the timeout; shutting the sockets down makes it immediate.
  if (sh.abort) for (int f : fds) shutdown(f, SHUT_RDWR);
  for (auto& t : threads) t.join();
  if (measuring && !sh.abort) mark(hooks, "measure-end");
}

// The threads' counts and histograms into one result, with a per-second series.
void merge_results(const NetOptions& o, const NetKind& kind, const std::vector<PerThread>& pts, NetResult* r) {
  r->elapsed_ns = o.duration;
  std::shared_ptr<NetKindPart> part = kind.make_part();
  size_t secs_n = 0;
  for (auto& p : pts) {
    r->lat.merge(p.lat);
    r->lag.merge(p.lag);
    r->transactions += p.tx;
    r->warmup_transactions += p.warm_tx;
    r->bytes_sent += p.sent;
    r->bytes_received += p.recvd;
    r->mismatches += p.mismatches;
    r->lost += p.lost;
    r->late_replies += p.late;
    r->intended += p.intended;
    r->sent_late += p.sent_late;
    r->served += p.served;
    r->cpu_user_ns += p.user_ns;
    r->cpu_sys_ns += p.sys_ns;
    r->ran_on.merge(p.ran_on);
    if (p.cpu_at_end_ns > p.cpu_at_measure_ns) r->cpu_window_ns += p.cpu_at_end_ns - p.cpu_at_measure_ns;
    if (p.delay_at_measure_ns == kNoRunDelay || p.delay_at_end_ns == kNoRunDelay || p.delay_at_end_ns < p.delay_at_measure_ns) r->run_delay_known = false;
    else r->run_delay_ns += p.delay_at_end_ns - p.delay_at_measure_ns;
    secs_n = std::max(secs_n, p.sec_ops.size());
    part->merge(*p.part, p, o);
  }
  secs_n = std::min<size_t>(secs_n, (o.duration + 999999999ull) / 1000000000ull);
  for (size_t s = 0; s < secs_n; s++) {
    SeriesPoint sp{};
    sp.t_ns = std::min<uint64_t>((s + 1) * 1000000000ull, o.duration);
    sp.dur_ns = sp.t_ns - s * 1000000000ull;
    for (auto& p : pts)
      if (s < p.sec_ops.size()) { sp.ops += p.sec_ops[s]; sp.bytes += p.sec_bytes[s]; }
    r->series.push_back(sp);
  }
  r->part = part;
}

}  // namespace
}  // namespace netloop

int run_net(const NetOptions& o, const RunHooks& hooks, NetResult* r, Error* e) {
  using namespace netloop;
  r->options = o;
  r->env = detect_env();
  int rc = validate_net_options(o, e);
  if (rc < 0) return rc;
  const NetKind& kind = *net_kind_of(o.mode, o.proto);  // validated: a kind measures it
  r->kind = kind.name;
  std::string err;
  if ((rc = clock_init(o.clock, &r->clock, &err)) < 0) return option_error(e, "clock", err);
  struct Release { ~Release() { clock_release(); } } release_clock;
  Shared sh(o, hooks);
  if ((rc = placement_cpus(o.cpus, o.cpu, &sh.cpus, e, PlaceRole::Client)) < 0) return rc;
  r->cpus_pinned = sh.cpus;
  std::string why;
  parse_addr(o.connect, &sh.addr, false, &why);
  r->peer = sh.addr.str();
  std::vector<int> fds;
  if ((rc = connect_all(sh, o.*kind.threads, &fds, e)) < 0) return rc;
  std::vector<PerThread> pts(fds.size());
  for (auto& p : pts) p.part = kind.make_part();
  supervise(sh, kind.loop, fds, pts);
  for (int f : fds) close(f);
  if (hooks.cancel && hooks.cancel->load()) return sys_error(e, ECANCELED, "", "the run was cancelled");
  if (sh.failed) { *e = sh.first_error; return -e->err; }
  merge_results(o, kind, pts, r);
  return 0;
}

}  // namespace isoprobe
