// The data file or device of a block run: opened once by the run, after the checks that keep
// isoprobe from writing to what is not its own, locked, and its O_DIRECT alignment read; each job
// then opens its own descriptor with the same flags.
#include "block_target.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "engine.h"
#include "lock.h"
#include "safety.h"

namespace isoprobe {

namespace {

constexpr const char* kOwnerXattr = "user.isoprobe";

std::string human_bytes(uint64_t b) { return std::to_string(b) + " bytes"; }

struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) close(fd); }
};

int refuse(Error* e, const std::string& option, const std::string& msg) {
  int rc = option_error(e, option, msg);
  e->code = "EREFUSED";
  return rc;
}

// Two runs on one file (or device) would each measure the other's I/O and see its cached pages:
// the file is flocked for the whole run, by the probe itself, wherever it runs (host, container).
int lock_target(const BlockOptions& o, int fd, const std::string& path, Error* e) {
  if (o.lock == "none") return 0;
  int rc = flock_now(fd, true);
  if (rc == 0) return 0;
  if (rc != -EWOULDBLOCK) return sys_error(e, -rc, "flock", "--file " + path);
  std::string who;
  for (int pid : flock_holders(fd)) who += (who.empty() ? " (pid " : ", ") + std::to_string(pid);
  if (!who.empty()) who += ")";
  int r = option_error(e, "lock", "--file " + path + ": another process" + who +
                                       " holds a lock on it, a concurrent isoprobe run on the same file; wait for it to end, or pass --lock=none to share the file");
  e->code = "ELOCKED";
  e->err = EWOULDBLOCK;
  return r;
}

int check_alignment(const BlockOptions& o, int fd, const std::string& path, BlockResult* r, Error* e) {
  uint32_t mem = 4096, off = 512;
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN)) {
    mem = sx.stx_dio_mem_align;
    off = sx.stx_dio_offset_align;
    if (o.direct && off == 0)
      return option_error(e, "direct", "--direct: O_DIRECT is not supported for " + path);
  } else if (r->file_type == "block") {
    int ss = 0;
    if (ioctl(fd, BLKSSZGET, &ss) == 0 && ss > 0) off = uint32_t(ss);
  }
  r->dio_mem_align = mem;
  r->dio_offset_align = off;
  if (!o.direct) return 0;
  std::string need = ": expected a multiple of " + std::to_string(off) + " bytes with --direct (the O_DIRECT alignment of " + path + ")";
  if (o.bs % off) return option_error(e, "bs", "--bs " + std::to_string(o.bs) + need);
  if (o.offset % off) return option_error(e, "offset", "--offset " + std::to_string(o.offset) + need);
  if (o.size % off) return option_error(e, "size", "--size " + std::to_string(o.size) + need);
  return 0;
}

// Long (~75 lines) on purpose: the whole write rule for files and devices, read top to bottom.
int open_checked(const BlockOptions& o, Pattern pat, BlockTarget* t, BlockResult* r, Error* e) {
  const std::string& path = o.file;
  bool writes = pattern_writes(pat) || o.verify;
  struct stat st;
  bool exists = stat(path.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) return sys_error(e, errno, "stat", "--file " + path);
  t->writes = writes;
  const bool per_io = engine_info(o.engine)->caps.dsync_per_io;  // --dsync as a flag of each write
  int flags = t->flags = (o.direct ? O_DIRECT : 0) | ((o.dsync && !per_io) ? O_DSYNC : 0) | O_CLOEXEC;
  r->dsync_via = !o.dsync ? "" : per_io ? "RWF_DSYNC" : "O_DSYNC";
  if (!exists) {
    std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
    if (dir.empty()) dir = "/";
    struct stat ds;
    if (stat(dir.c_str(), &ds) != 0 || !S_ISDIR(ds.st_mode))
      return option_error(e, "file", "--file " + path + ": directory " + dir + " does not exist");
    // Created exclusively with mode 0600: never races an existing file into being ours.
    t->fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | flags, 0600);
    if (t->fd < 0) {
      if (errno == EINVAL && o.direct)
        return option_error(e, "direct", "--direct: the filesystem holding " + path + " does not support O_DIRECT");
      return sys_error(e, errno, "open", "--file " + path + ": cannot create the data file");
    }
    r->created = r->owned = true;
    fsetxattr(t->fd, kOwnerXattr, "created", 7, 0);  // best effort: marks the file as isoprobe's
    r->file_type = "file";
    r->file_size = 0;
  } else if (S_ISREG(st.st_mode)) {
    r->file_type = "file";
    r->file_size = uint64_t(st.st_size);
    char tag[16];
    r->owned = getxattr(path.c_str(), kOwnerXattr, tag, sizeof tag) > 0;
    if (writes && !r->owned && !o.destructive)
      return refuse(e, "destructive", "--file " + path + ": refusing to write to an existing file that isoprobe did not create; pass --destructive to allow it" +
                    std::string(o.verify && !pattern_writes(pat) ? " (--verify writes its pattern first)" : ""));
    if (writes && !(st.st_mode & 0222))
      return refuse(e, "file", "--file " + path + ": the file is read-only (mode " + std::to_string((st.st_mode >> 6) & 7) +
                    std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) + "); a write pattern needs a writable file");
    t->fd = open(path.c_str(), (writes ? O_RDWR : O_RDONLY) | flags);
    if (t->fd < 0) {
      if (errno == EINVAL && o.direct)
        return option_error(e, "direct", "--direct: the filesystem holding " + path + " does not support O_DIRECT");
      return sys_error(e, errno, "open", "--file " + path);
    }
    if (o.offset + o.size > r->file_size && !r->owned)
      return option_error(e, "size", "--file " + path + " is " + human_bytes(r->file_size) + "; --offset " +
                                          std::to_string(o.offset) + " + --size " + std::to_string(o.size) + " needs " +
                                          human_bytes(o.offset + o.size));
  } else if (S_ISBLK(st.st_mode)) {
    r->file_type = "block";
    if (writes && !o.destructive)
      return refuse(e, "destructive", "--file " + path + ": refusing to write to block device; pass --destructive to allow it");
    if (writes && !o.force) {
      std::string use = device_in_use(st.st_rdev);
      if (!use.empty())
        return refuse(e, "force", "--file " + path + ": the device is " + use + "; refusing to write to it even with --destructive (--force overrides)");
    }
    t->fd = open(path.c_str(), (writes ? O_RDWR : O_RDONLY) | flags);
    if (t->fd < 0) return sys_error(e, errno, "open", "--file " + path);
    if (writes && !o.force) {
      Fd probe;
      probe.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      std::string sig = probe.fd >= 0 ? device_signature(probe.fd) : "";
      if (!sig.empty())
        return refuse(e, "force", "--file " + path + ": the device holds a " + sig + "; refusing to write to it even with --destructive (--force overrides)");
    }
    uint64_t bytes = 0;
    if (ioctl(t->fd, BLKGETSIZE64, &bytes) != 0) return sys_error(e, errno, "ioctl", "BLKGETSIZE64 on " + path);
    r->file_size = bytes;
    if (o.offset + o.size > bytes)
      return option_error(e, "size", "--file " + path + " is " + human_bytes(bytes) + "; --offset + --size need " + human_bytes(o.offset + o.size));
  } else {
    return option_error(e, "file", "--file " + path + ": expected a regular file or a block device");
  }
  if (int rc = lock_target(o, t->fd, path, e)) return rc;
  return check_alignment(o, t->fd, path, r, e);
}

}  // namespace

BlockTarget::~BlockTarget() {
  if (fd >= 0) close(fd);
}

int open_block_target(const BlockOptions& o, Pattern pat, BlockTarget* t, BlockResult* r, Error* e) {
  t->path = o.file;
  return open_checked(o, pat, t, r, e);
}

int BlockTarget::open_again(Error* e) const {
  int f = open(path.c_str(), (writes ? O_RDWR : O_RDONLY) | flags);
  if (f < 0) return sys_error(e, errno, "open", "--file " + path + ": a job's own descriptor");
  return f;
}

}  // namespace isoprobe
