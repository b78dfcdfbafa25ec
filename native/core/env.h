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
};

EnvInfo detect_env();
void write_env_json(JsonWriter& w, const EnvInfo& env);

}  // namespace isoprobe
