// What the probe can tell about where it runs: kernel, CPU, hypervisor, container, gVisor.
#pragma once
#include <string>

namespace isoprobe {

class JsonWriter;

struct EnvInfo {
  std::string kernel_release, kernel_version, machine;
  std::string cpu_model;
  int cpus_online = 0;
  std::string hypervisor_vendor;  // CPUID 0x40000000 signature, "" on bare metal
  std::string container;          // "docker" | "podman" | "oci" | "" ...: markers seen
  bool gvisor = false;
  std::string hostname;
  unsigned uid = 0;               // the user the probe ran as
  std::string seccomp;            // "disabled" | "strict" | "filter" | "unknown": /proc/self/status
  std::string cap_eff;            // effective capabilities, hex as in /proc/self/status ("" unknown)
  std::string emulation;          // "qemu-user on an x86-64 host" when user-mode emulation runs this probe, else ""
};

EnvInfo detect_env();
void write_env_json(JsonWriter& w, const EnvInfo& env);

// Why io_uring_setup answered ENOSYS: a seccomp filter on this process (a container's profile;
// Podman's, CRI-O's and newer Docker's and containerd's defaults block io_uring) or the kernel.
std::string io_uring_enosys_reason();

}  // namespace isoprobe
