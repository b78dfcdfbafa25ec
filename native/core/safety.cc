// Block-device checks before any write: mount table, holders, and on-disk signatures.
#include "safety.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace isoprobe {

std::string device_in_use(dev_t rdev) {
  std::string mm = std::to_string(major(rdev)) + ":" + std::to_string(minor(rdev));
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string id, parent, devno, root, mountpoint;
    in >> id >> parent >> devno >> root >> mountpoint;
    if (devno == mm) return "mounted at " + mountpoint;
  }
  std::ifstream swaps("/proc/swaps");
  std::getline(swaps, line);
  while (std::getline(swaps, line)) {
    // /proc/swaps names devices by path; compare by device number of that path.
    std::string path = line.substr(0, line.find_first_of(" \t"));
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode) && st.st_rdev == rdev) return "in use as swap";
  }
  std::string holders = "/sys/dev/block/" + mm + "/holders";
  if (DIR* d = opendir(holders.c_str())) {
    std::string held;
    while (dirent* de = readdir(d))
      if (de->d_name[0] != '.') held = de->d_name;
    closedir(d);
    if (!held.empty()) return "held by " + held + " (device-mapper, md or similar)";
  }
  return "";
}

std::string device_signature(int fd) {
  std::vector<unsigned char> b(70 * 1024);
  ssize_t n = pread(fd, b.data(), b.size(), 0);
  if (n < 0) return "";
  b.resize(size_t(n));
  auto at = [&](size_t off, const void* magic, size_t len) {
    return off + len <= b.size() && std::memcmp(&b[off], magic, len) == 0;
  };
  const unsigned char ext[] = {0x53, 0xEF};
  if (at(1080, ext, 2)) return "ext2/3/4 filesystem signature";
  if (at(0, "XFSB", 4)) return "XFS filesystem signature";
  if (at(65600, "_BHRfS_M", 8)) return "btrfs filesystem signature";
  if (at(0, "LUKS\xba\xbe", 6)) return "LUKS signature";
  if (at(4086, "SWAPSPACE2", 10) || at(4086, "SWAP-SPACE", 10)) return "swap signature";
  if (at(512, "EFI PART", 8)) return "GPT partition table";
  if (at(3, "NTFS    ", 8)) return "NTFS filesystem signature";
  if (at(0x36, "FAT", 3) || at(0x52, "FAT32", 5)) return "FAT filesystem signature";
  if (at(0x8001, "CD001", 5)) return "ISO 9660 signature";
  if (at(0, "hsqs", 4)) return "squashfs signature";
  if (at(1024, "\x10\x20\xf5\xf2", 4)) return "f2fs filesystem signature";
  const unsigned char mbr[] = {0x55, 0xAA};
  if (at(510, mbr, 2)) return "MBR boot signature";
  return "";
}

}  // namespace isoprobe
