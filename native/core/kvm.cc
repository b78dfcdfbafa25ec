// KVM check by doing what a VMM does first: open the device, ask the API version, create a VM.
#include "kvm.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace isoprobe {

KvmOpen kvm_open(const std::string& path) {
  KvmOpen r;
  r.expected = KVM_API_VERSION;
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    r.stage = "open";
    r.err = errno;
    return r;
  }
  r.api = ioctl(fd, KVM_GET_API_VERSION, 0);
  if (r.api != KVM_API_VERSION) {
    r.stage = "version";
    r.err = r.api < 0 ? errno : 0;
    close(fd);
    return r;
  }
  int vm = ioctl(fd, KVM_CREATE_VM, 0);
  int err = errno;
  close(fd);
  if (vm < 0) {
    r.stage = "create";
    r.err = err;
    return r;
  }
  close(vm);
  r.stage = "ok";
  return r;
}

}  // namespace isoprobe
