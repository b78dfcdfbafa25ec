// mincore / fadvise helpers shared by the block runner (its own kernel) and the target layer (host).
#include "page_cache.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <vector>

namespace isoprobe {

int64_t resident_bytes(int fd, uint64_t offset, uint64_t size) {
  long page = sysconf(_SC_PAGESIZE);
  if (size == 0) return 0;
  uint64_t start = offset / uint64_t(page) * uint64_t(page);
  uint64_t len = offset + size - start;
  void* m = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, off_t(start));
  if (m == MAP_FAILED) return -1;
  std::vector<unsigned char> vec((len + uint64_t(page) - 1) / uint64_t(page));
  int64_t n = -1;
  if (mincore(m, len, vec.data()) == 0) {
    n = 0;
    for (unsigned char v : vec) n += v & 1;
    n *= page;
  }
  munmap(m, len);
  return n;
}

int64_t settled_resident_bytes(int fd, uint64_t offset, uint64_t size) {
  int64_t n = resident_bytes(fd, offset, size);
  for (int i = 0; i < 40 && n >= 0; i++) {
    timespec pause{0, 5000000};
    nanosleep(&pause, nullptr);
    int64_t next = resident_bytes(fd, offset, size);
    if (next == n) break;
    n = next;
  }
  return n;
}

static uint64_t file_size(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return 0;
  if (S_ISBLK(st.st_mode)) {
    uint64_t b = 0;
    ioctl(fd, BLKGETSIZE64, &b);
    return b;
  }
  return uint64_t(st.st_size);
}

int evict_file(const std::string& path, Error* e) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_error(e, errno, "open", path);
  fdatasync(fd);
  int rc = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
  if (rc != 0) return sys_error(e, rc, "posix_fadvise", "dropping " + path + " from the page cache");
  return 0;
}

int64_t file_resident_bytes(const std::string& path, uint64_t* size, Error* e) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sys_error(e, errno, "open", path);
  *size = file_size(fd);
  int64_t n = settled_resident_bytes(fd, 0, *size);
  int err = errno;
  close(fd);
  if (n < 0) return sys_error(e, err, "mincore", "counting resident pages of " + path);
  return n;
}

}  // namespace isoprobe
