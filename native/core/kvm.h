// How far a KVM device gets in what a VMM does first: open it, ask the API version, create a VM.
#pragma once
#include <string>

namespace isoprobe {
// The stage it stopped at ("open", "version", "create"; "ok" when a VM was created), the errno
// there (0 when the call succeeded with a wrong answer), and the API version it answered (-1
// before that stage). The sentence is made from these in lib/targets/kvm.ts.
struct KvmOpen {
  std::string stage;
  int err = 0;
  int api = -1;
  int expected = 0;
};
KvmOpen kvm_open(const std::string& path);
}
