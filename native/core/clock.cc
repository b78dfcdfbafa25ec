// Clock selection, TSC calibration and cross-CPU skew check.
#include "clock.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <fstream>
#include <mutex>

namespace isoprobe {
namespace clockdetail {
bool g_tsc = false;
uint64_t g_tsc_base = 0;
uint64_t g_ns_base = 0;
uint64_t g_mult = 0;
}  // namespace clockdetail

namespace {

uint64_t raw_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

// Whether the counter runs at one rate on every CPU whatever their power state.
bool counter_invariant(std::string* why) {
#if defined(__aarch64__)
  // The architecture defines the generic timer as system-wide and of constant frequency.
  (void)why;
  return true;
#else
  unsigned a, b, c, d;
  if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007) {
    *why = "CPUID leaf 0x80000007 is not available, so TSC invariance cannot be confirmed";
    return false;
  }
  __get_cpuid(0x80000007, &a, &b, &c, &d);
  if (!(d & (1u << 8))) {
    *why = "the CPU does not report an invariant TSC (CPUID 0x80000007 EDX bit 8)";
    return false;
  }
  return true;
#endif
}

// The frequency the hardware states for its counter (arm64: CNTFRQ_EL0); 0 when it states none.
double nominal_counter_hz() {
#if defined(__aarch64__)
  uint64_t f;
  asm volatile("mrs %0, cntfrq_el0" : "=r"(f));
  return double(f);
#else
  return 0;
#endif
}

// One (tsc, raw ns) pair, taken in the narrowest of a few windows.
void paired_read(uint64_t* tsc, uint64_t* ns) {
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < 16; i++) {
    uint64_t a = raw_ns();
    uint64_t t = read_counter();
    uint64_t b = raw_ns();
    if (b - a < best) {
      best = b - a;
      *tsc = t;
      *ns = a + (b - a) / 2;
    }
  }
}

struct Calibration {
  bool done = false;
  bool ok = false;
  double hz = 0;
  double window_ns = 0;
  double skew_ns = -1;
  uint64_t tsc0 = 0, ns0 = 0;
  std::string why;
};
Calibration g_cal;
std::mutex g_cal_mu;

// TSC offset of each CPU we may run on, relative to CLOCK_MONOTONIC_RAW.
double measure_skew(double hz) {
  cpu_set_t orig;
  if (sched_getaffinity(0, sizeof orig, &orig) != 0) return -1;
  double lo = INFINITY, hi = -INFINITY;
  int seen = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (!CPU_ISSET(cpu, &orig)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) continue;
    uint64_t t, n;
    paired_read(&t, &n);
    double off = double(t) / hz * 1e9 - double(n);
    lo = std::fmin(lo, off);
    hi = std::fmax(hi, off);
    seen++;
  }
  sched_setaffinity(0, sizeof orig, &orig);
  return seen ? hi - lo : -1;
}

void calibrate() {
  g_cal.done = true;
  if (!counter_invariant(&g_cal.why)) return;
  uint64_t t0, n0, t1, n1;
  paired_read(&t0, &n0);
  timespec req{1, 0};
  while (nanosleep(&req, &req) != 0 && errno == EINTR) {
  }
  paired_read(&t1, &n1);
  g_cal.window_ns = double(n1 - n0);
  g_cal.hz = double(t1 - t0) * 1e9 / g_cal.window_ns;
  g_cal.skew_ns = measure_skew(g_cal.hz);
  // Anything above a microsecond between CPUs would show up in every latency we take.
  if (g_cal.skew_ns > 1000) {
    g_cal.why = std::string(kCounterName) + " offsets differ by " + std::to_string(int64_t(g_cal.skew_ns)) +
                " ns between CPUs (limit 1000 ns)";
    return;
  }
  g_cal.tsc0 = t1;
  g_cal.ns0 = n1;
  g_cal.ok = true;
}

// Cost of one read: up to 200k reads, but no longer than ~20 ms (under gVisor's ptrace platform
// a read traps and costs microseconds).
template <typename F>
double read_cost(F f, double* step) {
  uint64_t a = mono_ns(), b = a;
  uint64_t prev = f(), min_step = UINT64_MAX;
  long n = 0;
  while (n < 200000) {
    for (int i = 0; i < 64; i++) {
      uint64_t t = f();
      if (t > prev && t - prev < min_step) min_step = t - prev;
      prev = t;
    }
    n += 64;
    b = mono_ns();
    if (b - a > 20000000ull) break;
  }
  *step = min_step == UINT64_MAX ? double(b - a) : double(min_step);
  return double(b - a) / double(n);
}

}  // namespace

double tsc_calibrated_hz(std::string* why) {
  std::lock_guard<std::mutex> lock(g_cal_mu);
  if (!g_cal.done) calibrate();
  if (!g_cal.hz) *why = g_cal.why;
  return g_cal.hz;
}

std::string kernel_clocksource() {
  std::ifstream f("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string s;
  if (!(f >> s)) return "unknown";
  return s;
}

namespace {
int g_users = 0;  // runs holding the clock; the source cannot change under them
std::mutex g_users_mu;
// Cost and observed step of each source, measured once per process (a property of the machine
// and the source, and ~20 ms to measure).
struct Cost { bool done = false; double cost = 0, step = 0; };
Cost g_cost[2];

template <typename F>
void cost_of(int which, F f, ClockInfo* info) {
  if (!g_cost[which].done) {
    g_cost[which].cost = read_cost(f, &g_cost[which].step);
    g_cost[which].done = true;
  }
  info->cost_ns = g_cost[which].cost;
  info->observed_step_ns = g_cost[which].step;
}
}  // namespace

void clock_release() {
  std::lock_guard<std::mutex> lock(g_users_mu);
  if (g_users > 0) g_users--;
}

int clock_init(const std::string& request, ClockInfo* info, std::string* err) {
  std::lock_guard<std::mutex> users_lock(g_users_mu);
  int rc = clock_select(request, info, err);
  if (rc == 0) g_users++;
  return rc;
}

int clock_select(const std::string& request, ClockInfo* info, std::string* err) {
  info->requested = request;
  info->kernel_clocksource = kernel_clocksource();
  const char* other = std::string(kCounterName) == "tsc" ? "cntvct" : "tsc";
  if (request == other) {
    *err = "--clock " + request + ": this machine's counter is " + kCounterName + " (" + (request == "tsc" ? "arm64: the generic timer" : "x86-64: the TSC") +
           "); use --clock " + kCounterName + " or auto";
    return -EINVAL;
  }
  bool want_tsc = request == kCounterName || request == "auto";
  if (want_tsc) {
    std::lock_guard<std::mutex> lock(g_cal_mu);
    if (!g_cal.done) calibrate();
    info->max_cpu_skew_ns = g_cal.skew_ns;
    if (g_cal.ok) {
      if (g_users > 0 && !clockdetail::g_tsc) {
        *err = "--clock " + request + ": another run in this process is timing with the monotonic clock";
        return -EBUSY;
      }
      clockdetail::g_tsc_base = g_cal.tsc0;
      clockdetail::g_ns_base = g_cal.ns0;
      clockdetail::g_mult = uint64_t(1e9 / g_cal.hz * 4294967296.0 + 0.5);
      clockdetail::g_tsc = true;
      info->source = kCounterName;
      info->tsc_hz = g_cal.hz;
      info->nominal_hz = nominal_counter_hz();
      info->calibration_ns = g_cal.window_ns;
      info->resolution_ns = 1e9 / g_cal.hz;
      cost_of(1, now_ns, info);
      return 0;
    }
    if (request == kCounterName) {
      *err = "--clock " + request + ": " + g_cal.why;
      return -EINVAL;
    }
    info->fallback_reason = g_cal.why;
  }
  if (g_users > 0 && clockdetail::g_tsc) {
    *err = "--clock " + request + ": another run in this process is timing with the TSC";
    return -EBUSY;
  }
  clockdetail::g_tsc = false;
  info->source = "monotonic";
  timespec res;
  clock_getres(CLOCK_MONOTONIC, &res);
  info->resolution_ns = double(res.tv_sec) * 1e9 + double(res.tv_nsec);
  cost_of(0, mono_ns, info);
  return 0;
}

}  // namespace isoprobe
