// Thread helpers shared by the block and net cores (thread_util.h).
#include "thread_util.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace isoprobe {

bool parse_cpu_list(const std::string& s, std::vector<int>* out, std::string* why) {
  out->clear();
  size_t i = 0;
  auto number = [&](long* v) {
    size_t j = i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') j++;
    if (j == i || j - i > 4) return false;
    *v = std::strtol(s.substr(i, j - i).c_str(), nullptr, 10);
    i = j;
    return true;
  };
  while (i < s.size()) {
    long a, b;
    if (!number(&a)) return *why = "expected CPU numbers and ranges such as 0,2-3", false;
    b = a;
    if (i < s.size() && s[i] == '-') {
      i++;
      if (!number(&b) || b < a) return *why = "a range is LOW-HIGH with LOW <= HIGH", false;
    }
    if (b > 4095) return *why = "CPU numbers go up to 4095", false;
    for (long c = a; c <= b; c++) out->push_back(int(c));
    if (i < s.size() && s[i++] != ',') return *why = "expected ',' between CPUs", false;
  }
  return true;
}

std::vector<int> allowed_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; c++)
      if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

int placement_cpus(const std::string& cpus, int32_t cpu, std::vector<int>* out, Error* e, PlaceRole role) {
  out->clear();
  if (cpus == "auto") {
    if (cpu >= 0) return option_error(e, "cpus", "--cpus auto and --cpu " + std::to_string(cpu) + ": give one of them");
    std::vector<int> all = allowed_cpus();
    if (all.size() < 2) return 0;  // one CPU: nothing to place apart
    size_t half = all.size() / 2;
    if (role == PlaceRole::Jobs) *out = all;
    else if (role == PlaceRole::Client) out->assign(all.begin(), all.begin() + long(half));
    else out->assign(all.begin() + long(half), all.end());
    return 0;
  }
  if (cpu >= 0 && !cpus.empty())
    return option_error(e, "cpus", "--cpus " + cpus + " and --cpu " + std::to_string(cpu) + ": give one of them (--cpu N is --cpus N)");
  if (cpu >= 0) out->push_back(cpu);
  std::string why;
  if (!cpus.empty() && !parse_cpu_list(cpus, out, &why)) return option_error(e, "cpus", "--cpus " + cpus + ": " + why);
  return 0;
}

int pin_thread_set(const std::vector<int>& cpus, const std::string& option, Error* e) {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::string want;
  for (int c : cpus) {
    CPU_SET(c, &set);
    want += (want.empty() ? "" : ",") + std::to_string(c);
  }
  if (sched_setaffinity(0, sizeof set, &set) == 0) return 0;
  int err = errno;
  std::string list;
  for (int c : allowed_cpus()) list += (list.empty() ? "" : ",") + std::to_string(c);
  int rc = sys_error(e, err, "sched_setaffinity", "--" + option + ": cannot pin a thread to CPU " + want +
                                                      "; this process may run on CPUs " + (list.empty() ? "(unknown)" : list));
  e->option = option;
  return rc;
}

int pin_thread(int cpu, const std::string& option, Error* e) { return pin_thread_set({cpu}, option, e); }

uint64_t run_delay_ns(int tid) {
  char path[64];
  if (tid) snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", tid);
  else snprintf(path, sizeof path, "/proc/thread-self/schedstat");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kNoRunDelay;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return kNoRunDelay;
  buf[n] = 0;
  unsigned long long on_cpu = 0, waited = 0;
  return sscanf(buf, "%llu %llu", &on_cpu, &waited) == 2 ? uint64_t(waited) : kNoRunDelay;
}

ThreadTimes ThreadTimes::now() {
  rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return {tv_ns(ru.ru_utime), tv_ns(ru.ru_stime), uint64_t(ru.ru_nvcsw), uint64_t(ru.ru_nivcsw), isoprobe::run_delay_ns()};
}

void CpusSeen::sample() {
  int c = sched_getcpu();
  if (c < 0) return;
  samples++;
  if (last >= 0 && c != last) changes++;
  last = c;
  if (std::find(cpus.begin(), cpus.end(), c) == cpus.end()) cpus.push_back(c);
}

void CpusSeen::merge(const CpusSeen& o) {
  samples += o.samples;
  changes += o.changes;
  for (int c : o.cpus)
    if (std::find(cpus.begin(), cpus.end(), c) == cpus.end()) cpus.push_back(c);
}

}  // namespace isoprobe
