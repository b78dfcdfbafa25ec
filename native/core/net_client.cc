// Network clients: closed-loop request/response (TCP, UDP), open-loop TCP request/response
// timed from the intended send time, and bulk TCP streams (UDP streams: net_udp_stream.cc). One
// thread per connection or stream, started, timed and accounted by one supervisor.
#include <fcntl.h>
#include <liburing.h>
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
#include <cmath>
#include <cstring>
#include <mutex>
#include <thread>

#include "clock.h"
#include "env.h"
#include "net.h"
#include "net_loop.h"

namespace isoprobe {

namespace netloop {

std::string secs(uint64_t ns) {
  char b[32];
  std::snprintf(b, sizeof b, "%.3gs", double(ns) / 1e9);
  return b;
}

void sleep_until(uint64_t t) {
  // Sleep most of the way, then spin: the kernel's wake-up slack would otherwise blur the schedule.
  for (;;) {
    uint64_t now = now_ns();
    if (now >= t) return;
    uint64_t left = t - now;
    if (left > 60000) {
      timespec ts{time_t((left - 50000) / 1000000000ull), long((left - 50000) % 1000000000ull)};
      nanosleep(&ts, nullptr);
    }
  }
}

static int connect_to(Shared& sh, int type, Error* e) {
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

int io_fail(Shared& sh, Error* e, int err, const char* call, uint64_t done) {
  if (err == 0) return sys_error(e, EPIPE, call, "the server " + sh.o.connect + " closed the connection after " + std::to_string(done) + " transactions");
  if (err == EAGAIN || err == EWOULDBLOCK)
    return sys_error(e, ETIMEDOUT, call, "no reply from " + sh.o.connect + " within --timeout " + secs(sh.o.timeout) + " after " + std::to_string(done) + " transactions");
  return sys_error(e, err, call, "talking to " + sh.o.connect + " after " + std::to_string(done) + " transactions");
}

static bool send_all(int fd, const char* p, size_t n, int* err) {
  while (n) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) { *err = k == 0 ? 0 : errno; return false; }
    p += k;
    n -= size_t(k);
  }
  return true;
}

static bool recv_all(int fd, char* p, size_t n, int* err) {
  while (n) {
    ssize_t k = recv(fd, p, n, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) { *err = k == 0 ? 0 : errno; return false; }
    p += k;
    n -= size_t(k);
  }
  return true;
}

void fill_payload(std::vector<char>& b, uint64_t seed) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& c : b) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; c = char(x); }
  // Payloads below 8 bytes start with 0: never a prefix of the stream header.
  if (b.size() < 8) b[0] = 0;
}

void wait_go(Shared& sh) {
  sh.ready++;
  while (!sh.go.load(std::memory_order_acquire) && !sh.stop_now()) sched_yield();
}

// The thread's CPU times since `a` and, sampled as it ends, the CPU it ran on.
void thread_cpu(PerThread& pt, const rusage& a) {
  pt.ran_on.sample();
  rusage b;
  getrusage(RUSAGE_THREAD, &b);
  pt.user_ns = tv_ns(b.ru_utime) - tv_ns(a.ru_utime);
  pt.sys_ns = tv_ns(b.ru_stime) - tv_ns(a.ru_stime);
}

namespace {

// Accounts one closed-loop transaction that started at t0 and ended at t1.
void record_tx(Shared& sh, PerThread& pt, uint64_t t0, uint64_t t1, const std::vector<char>& out, const char* in, size_t got) {
  if (t0 < sh.t_measure) {
    pt.warm_tx++;
    return;
  }
  pt.lat.record(t1 - t0);
  pt.tx++;
  pt.tick(t0, sh.t_measure, out.size());
  if (sh.o.verify && (got != out.size() || std::memcmp(in, out.data(), out.size()) != 0)) pt.mismatches++;
}

// Closed loop over TCP or UDP with blocking calls: send, wait for the whole echo, repeat.
void rr_closed(Shared& sh, int fd, PerThread& pt, uint64_t seed) {
  const NetOptions& o = sh.o;
  bool udp = o.proto == "udp";
  std::vector<char> out(o.size), in(o.size);
  fill_payload(out, seed);
  Error e;
  int err = 0;
  wait_go(sh);
  rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  uint64_t seq = 0;
  while (!sh.stop_now()) {
    if (o.size >= 8) std::memcpy(out.data(), &++seq, 8);
    uint64_t t0 = now_ns();
    if (t0 >= sh.t_end) break;
    bool ok, lost = false;
    if (udp) {
      ok = send(fd, out.data(), out.size(), 0) == ssize_t(out.size());
      if (!ok) err = errno;
      while (ok) {
        ssize_t k = recv(fd, in.data(), in.size(), 0);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // a lost request or reply
          if (t0 >= sh.t_measure) pt.lost++;
          lost = true;
          break;
        }
        if (k < 0) { ok = false; err = errno; break; }
        uint64_t got;
        std::memcpy(&got, in.data(), 8);
        if (got != seq) { pt.late++; continue; }  // a reply that came after its timeout
        record_tx(sh, pt, t0, now_ns(), out, in.data(), size_t(k));
        break;
      }
    } else {
      ok = send_all(fd, out.data(), out.size(), &err) && recv_all(fd, in.data(), in.size(), &err);
      if (ok) record_tx(sh, pt, t0, now_ns(), out, in.data(), in.size());
    }
    if (!ok) {
      if (sh.stop_now()) break;
      io_fail(sh, &e, err, udp ? "send/recv" : err == 0 || err == EAGAIN ? "recv" : "send/recv", pt.tx + pt.warm_tx);
      sh.fail(e);
      break;
    }
    pt.sent += out.size();
    if (!lost) pt.recvd += out.size();
  }
  thread_cpu(pt, ru);
}

// Closed-loop TCP through io_uring: send and recv linked in one submission, one system call
// per transaction.
void rr_uring(Shared& sh, int fd, PerThread& pt, uint64_t seed) {
  const NetOptions& o = sh.o;
  std::vector<char> out(o.size), in(o.size);
  fill_payload(out, seed);
  Error e;
  io_uring ring;
  int rc = io_uring_queue_init(4, &ring, 0);
  if (rc < 0) {
    sys_error(&e, -rc, "io_uring_setup", "--backend io_uring: cannot create a ring" + (rc == -ENOSYS ? ": " + io_uring_enosys_reason() : std::string()));
    sh.fail(e);
    wait_go(sh);
    return;
  }
  wait_go(sh);
  rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  __kernel_timespec ts{int64_t(o.timeout / 1000000000ull), int64_t(o.timeout % 1000000000ull)};
  uint64_t seq = 0;
  while (!sh.stop_now()) {
    if (o.size >= 8) std::memcpy(out.data(), &++seq, 8);
    uint64_t t0 = now_ns();
    if (t0 >= sh.t_end) break;
    io_uring_sqe* s1 = io_uring_get_sqe(&ring);
    io_uring_prep_send(s1, fd, out.data(), out.size(), MSG_NOSIGNAL);
    s1->flags |= IOSQE_IO_LINK;
    io_uring_sqe* s2 = io_uring_get_sqe(&ring);
    io_uring_prep_recv(s2, fd, in.data(), in.size(), MSG_WAITALL);
    io_uring_cqe* cqe = nullptr;
    rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 2, &ts, nullptr);
    int results[2] = {INT32_MIN, INT32_MIN};
    unsigned seen = 0;
    while (seen < 2 && io_uring_peek_cqe(&ring, &cqe) == 0) {
      results[seen++] = cqe->res;
      io_uring_cqe_seen(&ring, cqe);
    }
    uint64_t t1 = now_ns();
    int err = 0;
    if (rc == -ETIME || seen < 2) err = EAGAIN;
    else if (results[0] < 0) err = -results[0];
    else if (results[1] < 0) err = -results[1];
    else if (size_t(results[1]) != in.size()) err = results[1] == 0 ? 0 : EIO;
    if (rc < 0 && rc != -ETIME && !err) err = -rc;
    if (err || (seen == 2 && results[1] == 0)) {
      if (sh.stop_now()) break;
      io_fail(sh, &e, err, "io_uring recv", pt.tx + pt.warm_tx);
      sh.fail(e);
      break;
    }
    record_tx(sh, pt, t0, t1, out, in.data(), in.size());
    pt.sent += out.size();
    pt.recvd += out.size();
  }
  thread_cpu(pt, ru);
  io_uring_queue_exit(&ring);
}

// Open loop: a sender keeps the schedule whatever the replies do; a receiver takes each echo's
// latency from the intended send time written into it, so a stall shows as latency. Long on
// purpose: the sender and the receiver share their schedule state and are read best together.
void rr_open(Shared& sh, int fd, PerThread& pt, uint64_t seed, double rate) {
  const NetOptions& o = sh.o;
  std::vector<char> out(o.size);
  fill_payload(out, seed);
  std::atomic<uint64_t> sent_count{0}, got{0};
  std::atomic<bool> sender_done{false}, drain_timed_out{false};
  Error e;
  wait_go(sh);
  rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  std::thread receiver([&] {
    std::vector<char> in(o.size);
    int err = 0;
    while (!sh.stop_now()) {
      if (sender_done.load() && got.load() >= sent_count.load()) break;
      if (!recv_all(fd, in.data(), in.size(), &err)) {
        if (sh.stop_now() || (sender_done.load() && got.load() >= sent_count.load())) break;
        Error re;
        if (drain_timed_out.load())
          sys_error(&re, ETIMEDOUT, "recv", std::to_string(sent_count.load() - got.load()) + " replies from " + o.connect +
                                                " still missing --timeout " + secs(o.timeout) + " after the last request");
        else
          io_fail(sh, &re, err, "recv", got.load());
        sh.fail(re);
        break;
      }
      uint64_t t1 = now_ns();
      uint64_t seq, intended;
      std::memcpy(&seq, in.data(), 8);
      std::memcpy(&intended, in.data() + 8, 8);
      got.fetch_add(1);
      if (t1 >= sh.t_measure && t1 < sh.t_end) pt.served++;
      if (intended >= sh.t_measure && intended < sh.t_end) {
        pt.lat.record(t1 - intended);
        pt.tx++;
        pt.tick(intended, sh.t_measure, in.size());
        if (o.verify && std::memcmp(in.data() + 16, out.data() + 16, in.size() - 16) != 0) pt.mismatches++;
      }
      pt.recvd += in.size();
    }
  });
  uint64_t x = seed | 1;
  double next = double(sh.t_start);
  uint64_t seq = 0;
  int err = 0;
  while (!sh.stop_now()) {
    double gap = 1e9 / rate;
    if (o.arrival == "poisson") {
      x ^= x << 13; x ^= x >> 7; x ^= x << 17;
      double u = (double(x >> 11) + 0.5) / 9007199254740992.0;
      gap = -std::log(u) * 1e9 / rate;
    }
    uint64_t intended = uint64_t(next);
    next += gap;
    if (intended >= sh.t_end) break;
    if (o.spin) while (now_ns() < intended && !sh.stop_now()) {}
    else sleep_until(intended);
    uint64_t now = now_ns();
    if (intended >= sh.t_measure) {
      pt.intended++;
      pt.lag.record(now - intended);
      if (now - intended > 1000000ull) pt.sent_late++;  // more than 1 ms behind the schedule
    }
    ++seq;
    std::memcpy(out.data(), &seq, 8);
    std::memcpy(out.data() + 8, &intended, 8);
    if (!send_all(fd, out.data(), out.size(), &err)) {
      if (!sh.stop_now()) {
        io_fail(sh, &e, err, "send", seq - 1);
        sh.fail(e);
      }
      break;
    }
    sent_count++;
    pt.sent += out.size();
  }
  sender_done = true;
  // The receiver drains the replies still in flight, bounded by the timeout.
  uint64_t deadline = now_ns() + o.timeout;
  while (now_ns() < deadline && got.load() < sent_count.load() && !sh.stop_now()) {
    timespec ts{0, 1000000};
    nanosleep(&ts, nullptr);
  }
  if (got.load() < sent_count.load()) drain_timed_out = true;
  shutdown(fd, SHUT_RDWR);  // wakes the receiver whether or not it has everything
  receiver.join();
  thread_cpu(pt, ru);
}

void stream(Shared& sh, int fd, PerThread& pt) {
  const NetOptions& o = sh.o;
  std::vector<char> buf(o.size, 's');
  char hdr[16];
  std::memcpy(hdr, kNetMagic, 8);
  uint32_t mode = o.reverse ? kSource : kSink, size = uint32_t(o.size);
  std::memcpy(hdr + 8, &mode, 4);
  std::memcpy(hdr + 12, &size, 4);
  Error e;
  int err = 0;
  if (!send_all(fd, hdr, sizeof hdr, &err)) {
    io_fail(sh, &e, err, "send", 0);
    sh.fail(e);
  }
  wait_go(sh);
  rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  while (!sh.stop_now()) {
    uint64_t t = now_ns();
    if (t >= sh.t_end) break;
    ssize_t k = o.reverse ? recv(fd, buf.data(), buf.size(), 0) : send(fd, buf.data(), buf.size(), MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      if (sh.stop_now()) break;
      io_fail(sh, &e, k == 0 ? 0 : errno, o.reverse ? "recv" : "send", 0);
      sh.fail(e);
      break;
    }
    uint64_t t1 = now_ns();
    if (t1 >= sh.t_measure && t1 < sh.t_end) {
      (o.reverse ? pt.recvd : pt.sent) += uint64_t(k);
      pt.tick(t1, sh.t_measure, uint64_t(k));
      pt.tx++;
    }
  }
  thread_cpu(pt, ru);
}

}  // namespace

namespace {

// The loop a thread runs: the one place the client branches on its workload. rate: the
// thread's share of --rate (0: closed loop, or a stream as fast as it goes).
using Loop = void (*)(Shared& sh, int fd, PerThread& pt, uint64_t seed, double rate);

Loop loop_of(const NetOptions& o) {
  if (o.mode == "stream" && o.proto == "udp") return udp_stream;
  if (o.mode == "stream") return [](Shared& sh, int fd, PerThread& pt, uint64_t, double) { stream(sh, fd, pt); };
  if (o.rate) return rr_open;
  if (o.backend == "io_uring") return [](Shared& sh, int fd, PerThread& pt, uint64_t seed, double) { rr_uring(sh, fd, pt, seed); };
  return [](Shared& sh, int fd, PerThread& pt, uint64_t seed, double) { rr_closed(sh, fd, pt, seed); };
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
void supervise(Shared& sh, const std::vector<int>& fds, std::vector<PerThread>& pts) {
  const NetOptions& o = sh.o;
  const RunHooks& hooks = sh.hooks;
  unsigned n = unsigned(fds.size());
  const Loop loop = loop_of(o);
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
void merge_results(const NetOptions& o, const std::vector<PerThread>& pts, NetResult* r) {
  r->elapsed_ns = o.duration;
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
    if (o.mode == "stream" && o.proto == "udp") r->udp_streams.push_back(p.udp);
    else if (o.mode == "stream") r->stream_bytes.push_back(o.reverse ? p.recvd : p.sent);
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
}

}  // namespace
}  // namespace netloop

int run_net(const NetOptions& o, const RunHooks& hooks, NetResult* r, Error* e) {
  using namespace netloop;
  r->options = o;
  r->env = detect_env();
  r->kind = net_kind(o);
  int rc = validate_net_options(o, e);
  if (rc < 0) return rc;
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
  if ((rc = connect_all(sh, o.mode == "stream" ? o.streams : o.conns, &fds, e)) < 0) return rc;
  std::vector<PerThread> pts(fds.size());
  supervise(sh, fds, pts);
  for (int f : fds) close(f);
  if (hooks.cancel && hooks.cancel->load()) return sys_error(e, ECANCELED, "", "the run was cancelled");
  if (sh.failed) { *e = sh.first_error; return -e->err; }
  merge_results(o, pts, r);
  return 0;
}

}  // namespace isoprobe
