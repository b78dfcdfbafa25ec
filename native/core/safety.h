// Data safety for block devices: is it mounted or in use, does it hold a known signature.
#pragma once
#include <sys/types.h>

#include <string>

namespace isoprobe {

// "" when the device looks free; otherwise what was found ("mounted at /mnt", "ext4 signature").
std::string device_in_use(dev_t rdev);
std::string device_signature(int fd);

}  // namespace isoprobe
