// The CPU canary (canary.h): the loop's steps depend on each other, so no compiler or CPU can
// shorten it; only time taken from its CPU stretches it.
#include "canary.h"

#include <thread>

#include "clock.h"
#include "thread_util.h"

namespace isoprobe {

int64_t cpu_canary_ns(int cpu, uint64_t iterations, Error* e) {
  int64_t out = 0;
  std::thread t([&] {
    if (cpu >= 0 && pin_thread(cpu, "cpu", e) < 0) {
      out = -int64_t(e->err ? e->err : 1);
      return;
    }
    volatile uint64_t sink = 0;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint64_t t0 = mono_ns();
    for (uint64_t i = 0; i < iterations; i++) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
    sink = x;
    (void)sink;
    out = int64_t(mono_ns() - t0);
  });
  t.join();
  return out;
}

}  // namespace isoprobe
