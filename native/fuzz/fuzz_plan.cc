// libFuzzer: what a guest's /init parses - plan lines, and module parameters from the kernel
// command line.
#include <cstddef>
#include <cstdint>
#include <string>

#include "../probe/plan.h"

using namespace isoprobe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string line = in.substr(0, nl);
  PlanStep p = parse_plan_line(line);
  if (p.kind == PlanStep::Net && p.args.size() != 2) __builtin_trap();
  if (p.kind == PlanStep::Run && p.args.empty()) __builtin_trap();
  std::string rest = nl == std::string::npos ? "" : in.substr(nl + 1);
  std::string params = module_params(rest, line.substr(0, 32));
  if (params.size() > rest.size()) __builtin_trap();
  return 0;
}
