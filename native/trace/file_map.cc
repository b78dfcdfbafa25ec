// Where a data file lies on its disk (trace.h's map_file): FIEMAP extents, moved from the
// filesystem's device (a partition) to the whole disk whose requests block_rq_* shows, with the
// reason when the file has no device layer the tracer can follow.
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#include "trace.h"

namespace isoprobe {

namespace {

std::string read_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

std::string dev_dir(uint32_t major, uint32_t minor) { return "/sys/dev/block/" + std::to_string(major) + ":" + std::to_string(minor); }

// The whole disk under a block device: itself, or a partition's parent; the partition's start.
// Empty reason when block_rq_* on that disk carries the device's sectors.
std::string whole_disk(uint32_t major, uint32_t minor, FileMap* m, uint64_t* start_sector) {
  const std::string dir = dev_dir(major, minor);
  const std::string name = std::to_string(major) + ":" + std::to_string(minor);
  if (!exists(dir)) return "its filesystem (device " + name + ") is not on a block device";
  char real[PATH_MAX];
  if (!realpath(dir.c_str(), real)) return "cannot resolve " + dir + ": " + strerror(errno);
  std::string path = real;
  *start_sector = 0;
  if (exists(path + "/partition")) {
    *start_sector = std::strtoull(read_line(path + "/start").c_str(), nullptr, 10);
    path = path.substr(0, path.rfind('/'));
  }
  m->disk = path.substr(path.rfind('/') + 1);
  if (exists(path + "/dm")) return "its disk " + m->disk + " is a device-mapper device: its requests reach the disks below it at sectors isoprobe does not map";
  if (exists(path + "/md")) return "its disk " + m->disk + " is a software RAID (md): its requests reach the member disks at sectors isoprobe does not map";
  unsigned dmaj = 0, dmin = 0;
  if (std::sscanf(read_line(path + "/dev").c_str(), "%u:%u", &dmaj, &dmin) != 2) return "cannot read " + path + "/dev";
  m->disk_major = dmaj;
  m->disk_minor = dmin;
  return "";
}

// FIEMAP in batches; adjacent extents (logically and physically contiguous) merged.
int fiemap_extents(int fd, uint64_t size, uint64_t start_sector, FileMap* m, std::string* why) {
  constexpr unsigned kBatch = 256;
  const size_t bytes = sizeof(fiemap) + kBatch * sizeof(fiemap_extent);
  std::unique_ptr<char[]> buf(new char[bytes]);
  auto* fm = reinterpret_cast<fiemap*>(buf.get());
  uint64_t at = 0;
  bool last = false;
  while (!last && at < size) {
    std::memset(buf.get(), 0, bytes);
    fm->fm_start = at;
    fm->fm_length = FIEMAP_MAX_OFFSET - at;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = kBatch;
    if (ioctl(fd, FS_IOC_FIEMAP, fm) != 0) {
      m->device_why = std::string("FIEMAP on the data file failed: ") + strerror(errno) + " (its filesystem does not map files to sectors)";
      return 0;
    }
    if (fm->fm_mapped_extents == 0) break;
    for (unsigned i = 0; i < fm->fm_mapped_extents; i++) {
      const fiemap_extent& e = fm->fm_extents[i];
      last = last || (e.fe_flags & FIEMAP_EXTENT_LAST);
      at = e.fe_logical + e.fe_length;
      if (e.fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_ENCODED | FIEMAP_EXTENT_DATA_INLINE | FIEMAP_EXTENT_NOT_ALIGNED)) {
        m->device_why = "an extent at file offset " + std::to_string(e.fe_logical) + " has no plain place on the disk (FIEMAP flags 0x" +
                        [](unsigned f) { char b[16]; std::snprintf(b, sizeof b, "%x", f); return std::string(b); }(e.fe_flags) + ")";
        return 0;
      }
      trace_extent x{start_sector + e.fe_physical / 512, e.fe_length / 512, e.fe_logical};
      if (!m->extents.empty()) {
        trace_extent& p = m->extents.back();
        if (p.sector + p.sectors == x.sector && p.file_off + p.sectors * 512 == x.file_off) {
          p.sectors += x.sectors;
          continue;
        }
      }
      m->extents.push_back(x);
    }
  }
  (void)why;
  return 0;
}

}  // namespace

int map_file(const std::string& path, FileMap* m, std::string* why) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *why = "opening " + path + ": " + strerror(errno);
    return -errno;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    *why = "stat of " + path + ": " + strerror(err);
    return -err;
  }
  m->ino = st.st_ino;
  m->major = major(st.st_dev);
  m->minor = minor(st.st_dev);
  uint64_t start = 0;
  int rc = 0;
  if (S_ISBLK(st.st_mode)) {
    // A block device as the data: its own sectors, all of them.
    uint64_t bytes = 0;
    ioctl(fd, BLKGETSIZE64, &bytes);
    m->size = bytes;
    m->rdev_major = major(st.st_rdev);
    m->rdev_minor = minor(st.st_rdev);
    m->device_why = whole_disk(major(st.st_rdev), minor(st.st_rdev), m, &start);
    if (m->device_why.empty()) m->extents.push_back(trace_extent{start, bytes / 512, 0});
  } else {
    m->size = uint64_t(st.st_size);
    m->device_why = whole_disk(m->major, m->minor, m, &start);
    if (m->device_why.empty()) rc = fiemap_extents(fd, m->size, start, m, why);
  }
  close(fd);
  if (!m->device_why.empty()) {
    m->extents.clear();
    m->disk_major = m->disk_minor = 0;
  }
  return rc;
}

}  // namespace isoprobe
