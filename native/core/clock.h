// The one timestamp source of a run: CLOCK_MONOTONIC, or the CPU's own counter calibrated against
// it: the invariant TSC on x86-64 (rdtscp), the generic timer's virtual count on arm64
// (CNTVCT_EL0, frequency in CNTFRQ_EL0). The only architecture-specific code of the probe.
#pragma once
#include <cstdint>
#include <ctime>
#include <string>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace isoprobe {

struct ClockInfo {
  std::string source;             // "monotonic" | "tsc" (x86-64) | "cntvct" (arm64)
  std::string requested;          // what the caller asked for
  double cost_ns = 0;             // measured cost of one read
  double resolution_ns = 0;       // smallest step the source claims (clock_getres, or 1/TSC Hz)
  double observed_step_ns = 0;    // smallest step seen between consecutive reads (a jiffies clock shows ms)
  std::string kernel_clocksource; // /sys/.../current_clocksource ("tsc", "kvm-clock", ...)
  double tsc_hz = 0;              // calibrated counter frequency (tsc or cntvct)
  double nominal_hz = 0;          // the frequency the hardware states (arm64: CNTFRQ_EL0), 0 when none
  double calibration_ns = 0;      // length of the calibration window
  double max_cpu_skew_ns = -1;    // largest TSC offset seen between CPUs (-1: not checked)
  std::string fallback_reason;    // why "tsc" or "auto" ended as "monotonic"
};

namespace clockdetail {
extern bool g_tsc;
extern uint64_t g_tsc_base;
extern uint64_t g_ns_base;
extern uint64_t g_mult;  // ns per tick, 32.32 fixed point
}  // namespace clockdetail

inline uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

#if defined(__x86_64__)
constexpr const char* kCounterName = "tsc";
// rdtscp waits for earlier instructions, so the stamp is not taken early.
inline uint64_t read_counter() {
  unsigned aux;
  return __rdtscp(&aux);
}
#elif defined(__aarch64__)
constexpr const char* kCounterName = "cntvct";
// isb: earlier instructions complete before the counter is read (as rdtscp waits on x86).
inline uint64_t read_counter() {
  uint64_t v;
  asm volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v) : : "memory");
  return v;
}
#else
#error "isoprobe's clock knows x86-64 (TSC) and arm64 (generic timer)"
#endif

// Timestamp in ns.
inline uint64_t now_ns() {
  if (clockdetail::g_tsc) {
    uint64_t t = read_counter();
    return clockdetail::g_ns_base +
           uint64_t((unsigned __int128)(t - clockdetail::g_tsc_base) * clockdetail::g_mult >> 32);
  }
  return mono_ns();
}

// Choose and calibrate the clock ("monotonic" | "tsc" | "auto"). Process-wide; a TSC
// calibration (>= 1 s against CLOCK_MONOTONIC_RAW) is done once and reused.
// Returns 0, or -EINVAL with *err set when "tsc" was demanded and cannot be used.
// Each successful clock_init must be paired with clock_release when the run ends; while
// runs hold the clock, a request for the other source fails with -EBUSY.
int clock_init(const std::string& request, ClockInfo* info, std::string* err);
int clock_select(const std::string& request, ClockInfo* info, std::string* err);
void clock_release();

std::string kernel_clocksource();

// The TSC frequency measured against CLOCK_MONOTONIC_RAW (>= 1 s, once per process), without
// changing the clock in use; 0 with *why when the TSC is not invariant.
double tsc_calibrated_hz(std::string* why);

}  // namespace isoprobe
