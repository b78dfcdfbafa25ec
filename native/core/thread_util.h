// Thread helpers the block and net cores share: one RNG, CPU pinning whose failure is an error
// naming the option, a thread's CPU times, a CPU list parser and a record of where a thread ran.
#pragma once
#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <vector>

#include "error.h"

namespace isoprobe {

// xoshiro256** seeded through splitmix64: fast, and the same sequence for the same seed.
struct Rng {
  uint64_t s[4];
  static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  explicit Rng(uint64_t seed) { for (auto& v : s) v = splitmix(seed); }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return r;
  }
  uint64_t below(uint64_t n) { return uint64_t((unsigned __int128)next() * n >> 64); }
};

inline uint64_t tv_ns(const timeval& t) { return uint64_t(t.tv_sec) * 1000000000ull + uint64_t(t.tv_usec) * 1000ull; }

// "0,2-3" -> {0, 2, 3}; "" -> {}. Returns false with *why on a malformed list.
bool parse_cpu_list(const std::string& s, std::vector<int>* out, std::string* why);

// Whose CPUs "auto" chooses: a block run's jobs (every CPU the process may use, round robin),
// a network client's threads (the lower half), an echo server's (the upper half).
enum class PlaceRole { Jobs, Client, Server };

// The CPUs a run's threads are pinned to: `--cpus LIST`, "auto" (by role, from the CPUs this
// process may use; none where it may use fewer than two), or the older `--cpu N` (-1: none).
// Returns 0 or -EINVAL naming the option (both given, a malformed list, a CPU out of range).
int placement_cpus(const std::string& cpus, int32_t cpu, std::vector<int>* out, Error* e, PlaceRole role = PlaceRole::Jobs);

// The CPUs this process may run on (sched_getaffinity), ascending.
std::vector<int> allowed_cpus();

// Pins the calling thread to `cpu`, or to the set `cpus`. Returns 0 or a negative errno with *e
// naming `option` and the CPUs this process may use.
int pin_thread(int cpu, const std::string& option, Error* e);
int pin_thread_set(const std::vector<int>& cpus, const std::string& option, Error* e);

// How long a thread has waited, runnable, for a CPU (the second field of its schedstat): what
// other tasks on its CPU cost it. `tid` 0 is the calling thread. kNoRunDelay where the kernel
// keeps no scheduler statistics (CONFIG_SCHED_INFO off) or the thread is gone.
constexpr uint64_t kNoRunDelay = UINT64_MAX;
uint64_t run_delay_ns(int tid = 0);

// The calling thread's CPU times, context switches and run delay since it began.
struct ThreadTimes {
  uint64_t user_ns = 0, sys_ns = 0, vcsw = 0, ivcsw = 0, run_delay_ns = kNoRunDelay;
  static ThreadTimes now();
  ThreadTimes since(const ThreadTimes& a) const {
    bool known = run_delay_ns != kNoRunDelay && a.run_delay_ns != kNoRunDelay;
    return {user_ns - a.user_ns, sys_ns - a.sys_ns, vcsw - a.vcsw, ivcsw - a.ivcsw, known ? run_delay_ns - a.run_delay_ns : kNoRunDelay};
  }
};

// Where a thread ran: the CPUs sched_getcpu() returned when sampled, and how often the answer
// changed between two samples (migrations seen; the kernel may have moved it more often).
struct CpusSeen {
  std::vector<int> cpus;  // distinct, in the order first seen
  uint64_t samples = 0, changes = 0;
  int last = -1;
  void sample();
  void merge(const CpusSeen& o);
};

}  // namespace isoprobe
