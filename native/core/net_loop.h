// What every network client loop shares: the run's common state (start, window, stop, first
// error), a thread's counts, and the calls each loop makes around its work (wait for the start,
// account its CPU). A loop is its own file's function over these, named by its kind's entry
// (net_kind.h); net_client.cc runs them.
#pragma once
#include <sys/resource.h>

#include <atomic>
#include <memory>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "net.h"

namespace isoprobe {
namespace netloop {

// Shared state of the threads of one run: a common start, per-thread results merged at the end.
struct Shared {
  const NetOptions& o;
  const RunHooks& hooks;
  SockAddr addr;
  std::vector<int> cpus;  // --cpus: thread i on cpus[i % size]
  uint64_t t_start = 0, t_measure = 0, t_end = 0;
  std::mutex mu;
  Error first_error;
  bool failed = false;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false}, abort{false};

  explicit Shared(const NetOptions& opt, const RunHooks& h) : o(opt), hooks(h) {}
  bool stop_now() const { return abort.load(std::memory_order_relaxed) || (hooks.cancel && hooks.cancel->load(std::memory_order_relaxed)); }
  void fail(const Error& e) {
    std::lock_guard<std::mutex> lock(mu);
    if (!failed) { failed = true; first_error = e; }
    abort = true;
  }
};

struct PerThread {
  Histogram lat, lag;
  std::vector<uint64_t> sec_ops, sec_bytes;
  std::atomic<uint64_t> tx{0};  // read by the progress reporter while the thread runs
  uint64_t warm_tx = 0, sent = 0, recvd = 0, mismatches = 0, lost = 0, late = 0, intended = 0, sent_late = 0;
  uint64_t served = 0;  // open loop: replies received inside the window (the server's pace)
  std::unique_ptr<NetKindPart> part;  // the kind's own counts of this thread (its loop's to fill)
  uint64_t user_ns = 0, sys_ns = 0;
  CpusSeen ran_on;  // sampled when the thread begins and ends
  // The thread's CPU clock (ns) when the measured window began (read by the supervisor) and when
  // the thread ended (read by itself): their difference is its CPU over the window alone.
  uint64_t cpu_at_measure_ns = 0, cpu_at_end_ns = 0;
  // The same for the time it waited, runnable, for a CPU (schedstat; kNoRunDelay: unknown). Its
  // thread id is published before it reports ready, so the supervisor can read its schedstat.
  int tid = 0;
  uint64_t delay_at_measure_ns = kNoRunDelay, delay_at_end_ns = kNoRunDelay;
  void tick(uint64_t t, uint64_t t0, uint64_t bytes) {
    size_t s = size_t((t - t0) / 1000000000ull);
    if (s >= sec_ops.size()) { sec_ops.resize(s + 1); sec_bytes.resize(s + 1); }
    sec_ops[s]++;
    sec_bytes[s] += bytes;
  }
};

// "1.5s": a duration as an error message says it.
std::string secs(uint64_t ns);
// Sleeps most of the way to `t` (now_ns() time), then spins.
void sleep_until(uint64_t t);
// Reports the thread ready and waits for the common start.
void wait_go(Shared& sh);
// The thread's CPU times since `a` and, sampled as it ends, the CPU it ran on.
void thread_cpu(PerThread& pt, const rusage& a);
// The error of a failed send/recv, naming the server and how far the thread got.
int io_fail(Shared& sh, Error* e, int err, const char* call, uint64_t done);
void fill_payload(std::vector<char>& b, uint64_t seed);
// The whole buffer sent or received; false with *err (0: the peer closed) otherwise.
bool send_all(int fd, const char* p, size_t n, int* err);
bool recv_all(int fd, char* p, size_t n, int* err);

// The skeleton of every loop: what comes before it is the loop's setup; `body` starts with the
// other threads (wait_go) and is what the thread's CPU is accounted over; after it, teardown.
template <class F>
void measured(Shared& sh, PerThread& pt, F&& body) {
  wait_go(sh);
  rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  body();
  thread_cpu(pt, ru);
}

}  // namespace netloop
}  // namespace isoprobe
