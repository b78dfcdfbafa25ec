// Whether hardware virtualization is usable here: /dev/kvm opens, speaks API 12, creates a VM.
#pragma once
#include <string>

namespace isoprobe {
// "" when KVM works; otherwise the exact reason.
std::string kvm_unavailable();
}
