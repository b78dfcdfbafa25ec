// KVM check by doing what a VMM does first: open /dev/kvm, ask the API version, create a VM.
#include "kvm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace isoprobe {

std::string kvm_unavailable() {
  int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return "/dev/kvm does not exist (no hardware virtualization here, or the kvm module is not loaded)";
    return std::string("/dev/kvm cannot be opened: ") + strerror(errno);
  }
  int v = ioctl(fd, KVM_GET_API_VERSION, 0);
  if (v != KVM_API_VERSION) {
    close(fd);
    return "/dev/kvm answers API version " + std::to_string(v) + ", expected " + std::to_string(KVM_API_VERSION);
  }
  int vm = ioctl(fd, KVM_CREATE_VM, 0);
  int err = errno;
  close(fd);
  if (vm < 0) return std::string("/dev/kvm refuses to create a VM: ") + strerror(err);
  close(vm);
  return "";
}

}  // namespace isoprobe
