#include "lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace isoprobe {

std::vector<int> flock_holders(int fd) {
  std::vector<int> pids;
  struct stat st;
  if (fstat(fd, &st) != 0) return pids;
  // "1: FLOCK  ADVISORY  WRITE 27359 fe:00:2171043 0 EOF"; waiters carry "->" after the index.
  char want[64];
  snprintf(want, sizeof want, "%02x:%02x:%llu", major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino);
  FILE* f = fopen("/proc/locks", "re");
  if (!f) return pids;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    char kind[16] = "", dev[64] = "";
    int pid = 0;
    const char* p = strchr(line, ':');
    if (!p) continue;
    p++;
    while (*p == ' ') p++;
    if (strncmp(p, "->", 2) == 0) continue;  // a waiter, not a holder
    if (sscanf(p, "%15s %*s %*s %d %63s", kind, &pid, dev) != 3) continue;
    if (strcmp(kind, "FLOCK") != 0 || strcmp(dev, want) != 0) continue;
    pids.push_back(pid);
  }
  fclose(f);
  return pids;
}

int flock_now(int fd, bool exclusive) {
  for (;;) {
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

int lock_file(const std::string& path, bool exclusive, std::vector<int>* holders, Error* e) {
  for (int attempt = 0; attempt < 100; attempt++) {
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return sys_error(e, errno, "open", "lock file " + path);
    int rc = flock_now(fd, exclusive);
    if (rc == -EWOULDBLOCK) {
      if (holders) *holders = flock_holders(fd);
      close(fd);
      return rc;
    }
    if (rc < 0) {
      close(fd);
      return sys_error(e, -rc, "flock", "lock file " + path);
    }
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) return fd;
    close(fd);  // the holder before us removed it between our open and our lock: take the new one
  }
  return sys_error(e, EAGAIN, "flock", "lock file " + path + " kept being replaced");
}

void unlock_file(int fd, const std::string& unlink_path) {
  if (fd < 0) return;
  if (!unlink_path.empty()) {
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(unlink_path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
      unlink(unlink_path.c_str());
  }
  close(fd);
}

}  // namespace isoprobe
