// The calls every client loop makes: the common start, CPU accounting, payloads, whole sends
// and receives, the error of a failed call (net_loop.h).
#include "net_loop.h"

#include <sched.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstdio>

#include "clock.h"

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

int io_fail(Shared& sh, Error* e, int err, const char* call, uint64_t done) {
  if (err == 0) return sys_error(e, EPIPE, call, "the server " + sh.o.connect + " closed the connection after " + std::to_string(done) + " transactions");
  if (err == EAGAIN || err == EWOULDBLOCK)
    return sys_error(e, ETIMEDOUT, call, "no reply from " + sh.o.connect + " within --timeout " + secs(sh.o.timeout) + " after " + std::to_string(done) + " transactions");
  return sys_error(e, err, call, "talking to " + sh.o.connect + " after " + std::to_string(done) + " transactions");
}

bool send_all(int fd, const char* p, size_t n, int* err) {
  while (n) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) { *err = k == 0 ? 0 : errno; return false; }
    p += k;
    n -= size_t(k);
  }
  return true;
}

bool recv_all(int fd, char* p, size_t n, int* err) {
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

}  // namespace netloop
}  // namespace isoprobe
