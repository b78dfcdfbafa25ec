// Environment detection from CPUID, uname and the usual container markers; never fails.
#include "env.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "json.h"

namespace isoprobe {

// A "Key:\tvalue" line of /proc/self/status, "" when absent.
static std::string status_field(const char* key) {
  FILE* f = fopen("/proc/self/status", "re");
  std::string v;
  if (!f) return v;
  char line[256];
  size_t n = strlen(key);
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, key, n) != 0 || line[n] != ':') continue;
    const char* p = line + n + 1;
    while (*p == ' ' || *p == '\t') p++;
    v = p;
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    break;
  }
  fclose(f);
  return v;
}

// Seccomp mode of this process: 0 disabled, 1 strict, 2 filter, -1 not reported.
static int seccomp_mode() {
  std::string v = status_field("Seccomp");
  return v.empty() ? -1 : atoi(v.c_str());
}


static std::string read_file(const char* path, size_t max = 65536) {
  std::ifstream f(path);
  if (!f) return "";
  std::string s(max, '\0');
  f.read(&s[0], std::streamsize(max));
  s.resize(size_t(f.gcount()));
  return s;
}

static std::string hypervisor_vendor() {
#if !defined(__x86_64__)
  // arm64 has no CPUID hypervisor leaf (and a device tree names only some hypervisors): the probe
  // cannot tell a guest from bare metal there, and says so rather than claim bare metal.
  return "not detectable on this architecture";
#else
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31))) return "";
  __cpuid(0x40000000, a, b, c, d);
  char sig[13];
  std::memcpy(sig, &b, 4);
  std::memcpy(sig + 4, &c, 4);
  std::memcpy(sig + 8, &d, 4);
  sig[12] = 0;
  std::string s(sig);
  // Known signatures, named as people say them.
  if (s == "KVMKVMKVM") return "kvm";
  if (s == "TCGTCGTCGTCG") return "tcg";
  if (s == "Microsoft Hv") return "hyperv";
  if (s == "VMwareVMware") return "vmware";
  if (s == "XenVMMXenVMM") return "xen";
  if (s.empty()) return "unknown";
  return s;
#endif
}

static std::string container_markers() {
  std::string found;
  auto add = [&](const std::string& m) { found += found.empty() ? m : "," + m; };
  if (access("/.dockerenv", F_OK) == 0) add("docker");
  if (access("/run/.containerenv", F_OK) == 0) add("podman");
  const char* c = getenv("container");
  if (c && *c) add(std::string("env:") + c);
  std::string cg = read_file("/proc/1/cgroup");
  if (cg.find("/docker") != std::string::npos) add("cgroup:docker");
  if (cg.find("kubepods") != std::string::npos) add("cgroup:kubernetes");
  if (cg.find("containerd") != std::string::npos) add("cgroup:containerd");
  if (getenv("ISOPROBE_CONTAINER")) add(std::string("isoprobe:") + getenv("ISOPROBE_CONTAINER"));
  return found;
}

// User-mode emulation (qemu-user) runs the probe's instructions but passes system calls to the
// host kernel: an arm64 probe then sees the host's x86 /proc/cpuinfo.
static std::string user_mode_emulation() {
#if defined(__aarch64__)
  std::string cpuinfo = read_file("/proc/cpuinfo", 1 << 16);
  if (cpuinfo.find("vendor_id") != std::string::npos && cpuinfo.find("flags") != std::string::npos) return "qemu-user on an x86-64 host";
#endif
  return "";
}

EnvInfo detect_env() {
  EnvInfo e;
  utsname u;
  if (uname(&u) == 0) {
    e.kernel_release = u.release;
    e.kernel_version = u.version;
    e.machine = u.machine;
    e.hostname = u.nodename;
  }
  std::istringstream cpuinfo(read_file("/proc/cpuinfo", 1 << 20));
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t p = line.find(':');
      if (p != std::string::npos) e.cpu_model = line.substr(p + 2);
      break;
    }
  }
  e.cpus_online = int(sysconf(_SC_NPROCESSORS_ONLN));
  e.uid = getuid();
  e.hypervisor_vendor = hypervisor_vendor();
  e.container = container_markers();
  int sc = seccomp_mode();
  e.cap_eff = status_field("CapEff");
  e.seccomp = sc == 0 ? "disabled" : sc == 1 ? "strict" : sc == 2 ? "filter" : "unknown";
  // gVisor's Sentry reports a fixed kernel build string and has no /proc/sys/kernel/osrelease
  // of a real kernel; its dmesg-like banner is also distinctive.
  std::string version = read_file("/proc/version");
  e.gvisor = version.find("#1 SMP Sun Jan 10 15:06:54 PST 2016") != std::string::npos;
  e.emulation = user_mode_emulation();
  return e;
}

void write_env_json(JsonWriter& w, const EnvInfo& e) {
  w.begin_object();
  w.kv("kernel", e.kernel_release);
  w.kv("kernel_version", e.kernel_version);
  w.kv("arch", e.machine);
  w.kv("cpu_model", e.cpu_model);
  w.kv("cpus", e.cpus_online);
  w.kv("hypervisor", e.hypervisor_vendor);
  w.kv("container", e.container);
  w.kv("gvisor", e.gvisor);
  w.kv("hostname", e.hostname);
  w.kv("seccomp", e.seccomp);
  w.kv("cap_eff", e.cap_eff);
  w.kv("uid", e.uid);
  w.kv("emulation", e.emulation);
  w.end_object();
}

std::string io_uring_enosys_reason() {
  int mode = seccomp_mode();
  if (mode == 2)
    return "io_uring is blocked by this process's seccomp filter (Seccomp: 2 in /proc/self/status): the container's "
           "seccomp profile forbids it, as the default profiles of Podman, CRI-O and newer Docker and containerd do; "
           "measure it with an unconfined or custom profile (isoprobe: --seccomp)";
  if (!user_mode_emulation().empty()) return "io_uring is not implemented by user-mode emulation (qemu-user passes it no io_uring system calls); measure it on an arm64 machine or in an arm64 guest";
  return "this kernel has no io_uring";
}

}  // namespace isoprobe
