// Parsing what a guest's /init is given: plan lines and module parameters from the command line.
// Pure functions (no I/O), so they can be fuzzed.
#pragma once
#include <string>
#include <vector>

namespace isoprobe {

struct PlanStep {
  enum Kind { Net, Serve, Run, Hold, Gate, Deadline, Exit, Skip, Invalid } kind = Invalid;
  std::vector<std::string> args;  // Net: iface, cidr; Serve: addr, seconds; Run: probe argv; Hold: seconds
  unsigned seconds = 0;           // Serve, Hold: seconds; Gate: the gate's number; Deadline: seconds
                                  // each following run may take before PID 1 kills it (0: no limit)
  std::string error;              // Invalid: why
};

PlanStep parse_plan_line(const std::string& line);

// "virtio_mmio.device=4K@0xd0000000:5 x.y=z" -> the parameters for module `name` ("device=...").
std::string module_params(const std::string& cmdline, const std::string& name);

}  // namespace isoprobe
