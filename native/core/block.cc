// The block workload runner: target checks, layout, warm-up, measured loop, verification.
#include "block.h"
#include "lock.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "engine.h"
#include "page_cache.h"
#include "safety.h"

namespace isoprobe {

const char* const kProbeVersion = "0.1.0";

namespace {

constexpr const char* kOwnerXattr = "user.isoprobe";
constexpr uint64_t kMagic = 0x45424f52504f5349ull;  // "ISOPROBE"

// xoshiro256** seeded through splitmix64: fast, and the same sequence for the same seed.
struct Rng {
  uint64_t s[4];
  static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  explicit Rng(uint64_t seed) { for (auto& v : s) v = splitmix(seed); }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t next() {
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return r;
  }
  uint64_t below(uint64_t n) { return uint64_t((unsigned __int128)next() * n >> 64); }
};

// Block content for verification: a header naming offset, run nonce and generation, then a
// stream derived from all three, so a misplaced, stale or torn block cannot pass.
void fill_block(char* buf, uint64_t len, uint64_t offset, uint64_t nonce, uint64_t gen) {
  uint64_t h[4] = {kMagic, offset, nonce, gen};
  std::memcpy(buf, h, sizeof h);
  uint64_t x = offset * 0x9e3779b97f4a7c15ull ^ nonce ^ (gen << 56);
  for (uint64_t i = sizeof h; i + 8 <= len; i += 8) {
    uint64_t v = Rng::splitmix(x);
    std::memcpy(buf + i, &v, 8);
  }
  for (uint64_t i = len - len % 8; i < len && i >= sizeof h; i++) buf[i] = char(i);
}

// mask bit 0: generation 0 (layout) allowed; bit 1: generation 1 (written this run) allowed.
// Returns "" when the block holds what it must, else what it holds instead, for the message.
std::string check_block(const char* buf, uint64_t len, uint64_t offset, uint64_t nonce, unsigned mask, char* scratch) {
  uint64_t h[4];
  std::memcpy(h, buf, sizeof h);
  if (h[0] != kMagic) return "not this run's data: no isoprobe block header (overwritten by something else)";
  if (h[2] != nonce) return "a block of another run (nonce differs): overwritten or never written by this run";
  if (h[1] != offset) return "misplaced: it holds the block written for offset " + std::to_string(h[1]);
  if (h[3] > 1) return "a header with an impossible generation " + std::to_string(h[3]) + " (corrupted)";
  if (!(mask & (1u << h[3])))
    return h[3] == 0 ? "stale: the layout's content, though this run's write of it had completed (a lost write)"
                     : "a write of this run where none had been made (corrupted)";
  fill_block(scratch, len, offset, nonce, h[3]);
  if (std::memcmp(buf, scratch, len) == 0) return "";
  uint64_t i = 0;
  while (i < len && buf[i] == scratch[i]) i++;
  return "corrupt: the header is right, the content differs from byte " + std::to_string(i) + " on (torn or overwritten)";
}

struct AlignedBuf {
  char* p = nullptr;
  explicit AlignedBuf(size_t n) {
    if (posix_memalign(reinterpret_cast<void**>(&p), 4096, n ? n : 4096) != 0) p = nullptr;
  }
  ~AlignedBuf() { free(p); }
};

struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) close(fd); }
};

uint64_t tv_ns(const timeval& t) { return uint64_t(t.tv_sec) * 1000000000ull + uint64_t(t.tv_usec) * 1000ull; }

std::string human_bytes(uint64_t b) { return std::to_string(b) + " bytes"; }

class Runner {
 public:
  Runner(const BlockOptions& o, const RunHooks& h, BlockResult* r, Error* e) : o_(o), h_(h), r_(r), e_(e) {}
  ~Runner() {
    if (engine_) engine_->cleanup();
    if (clock_held_) clock_release();
  }

  int run() {
    int rc;
    parse_pattern(o_.pattern, &pat_);
    if ((rc = validate_block_options(o_, e_)) < 0) return rc;
    if ((rc = open_target()) < 0) return rc;
    if ((rc = layout()) < 0) return rc;
    if ((rc = setup()) < 0) return rc;
    if (o_.invalidate && r_->file_type == "file") {
      fdatasync(fd_.fd);
      r_->invalidated = posix_fadvise(fd_.fd, off_t(o_.offset), off_t(o_.size), POSIX_FADV_DONTNEED) == 0;
    } else if (o_.invalidate) {
      r_->invalidated = ioctl(fd_.fd, BLKFLSBUF, 0) == 0 ||
                        posix_fadvise(fd_.fd, off_t(o_.offset), off_t(o_.size), POSIX_FADV_DONTNEED) == 0;
    }
    r_->resident_before = resident_bytes(fd_.fd, o_.offset, o_.size);
    if (o_.cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(o_.cpu, &set);
      if (sched_setaffinity(0, sizeof set, &set) != 0)
        return sys_error(e_, errno, "sched_setaffinity", "--cpu " + std::to_string(o_.cpu) + ": cannot pin the measuring thread");
    }
    if (o_.warmup > 0) {
      if ((rc = loop(false, o_.warmup, 0)) < 0) return rc;
    }
    rusage ru0, ru1;
    if (h_.mark) h_.mark(h_.ctx, "measure-start");
    getrusage(RUSAGE_THREAD, &ru0);
    if ((rc = loop(true, o_.ops ? 0 : o_.duration, o_.ops)) < 0) return rc;
    getrusage(RUSAGE_THREAD, &ru1);
    if (h_.mark) h_.mark(h_.ctx, "measure-end");
    r_->cpu_user_ns = tv_ns(ru1.ru_utime) - tv_ns(ru0.ru_utime);
    r_->cpu_sys_ns = tv_ns(ru1.ru_stime) - tv_ns(ru0.ru_stime);
    r_->ctx_voluntary = uint64_t(ru1.ru_nvcsw - ru0.ru_nvcsw);
    r_->ctx_involuntary = uint64_t(ru1.ru_nivcsw - ru0.ru_nivcsw);
    r_->resident_after = resident_bytes(fd_.fd, o_.offset, o_.size);
    if (o_.verify && (rc = verify_all()) < 0) return rc;
    return 0;
  }

 private:
  const BlockOptions& o_;
  const RunHooks& h_;
  BlockResult* r_;
  Error* e_;
  Pattern pat_ = Pattern::RandRead;
  Fd fd_;
  std::unique_ptr<Engine> engine_;
  std::vector<IoUnit> units_;
  std::unique_ptr<AlignedBuf> bufs_;
  std::unique_ptr<AlignedBuf> scratch_;
  bool clock_held_ = false;
  uint64_t nonce_ = 0;
  // Verification state per block: writes in flight, sequence number of the last write issued,
  // and whether a write has completed. A read that overlaps a write of its block in time may
  // legitimately see a mix of both, so it is counted as skipped rather than checked.
  struct BlockState { uint32_t inflight = 0; uint8_t written = 0; uint64_t last_write_seq = 0; };
  std::vector<BlockState> blk_;
  uint64_t io_seq_ = 0;
  uint64_t seq_next_ = 0;

  bool cancelled() const { return h_.cancel && h_.cancel->load(std::memory_order_relaxed); }

  int refuse(const std::string& option, const std::string& msg) {
    int rc = option_error(e_, option, msg);
    e_->code = "EREFUSED";
    return rc;
  }

  int open_target() {
    const std::string& path = o_.file;
    bool writes = pattern_writes(pat_) || o_.verify;
    struct stat st;
    bool exists = stat(path.c_str(), &st) == 0;
    if (!exists && errno != ENOENT) return sys_error(e_, errno, "stat", "--file " + path);
    int flags = (o_.direct ? O_DIRECT : 0) | ((o_.dsync && o_.engine != "pvsync2") ? O_DSYNC : 0) | O_CLOEXEC;
    r_->dsync_via = !o_.dsync ? "" : o_.engine == "pvsync2" ? "RWF_DSYNC" : "O_DSYNC";
    if (!exists) {
      std::string dir = path.find('/') == std::string::npos ? "." : path.substr(0, path.rfind('/'));
      if (dir.empty()) dir = "/";
      struct stat ds;
      if (stat(dir.c_str(), &ds) != 0 || !S_ISDIR(ds.st_mode))
        return option_error(e_, "file", "--file " + path + ": directory " + dir + " does not exist");
      // Created exclusively with mode 0600: never races an existing file into being ours.
      fd_.fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | flags, 0600);
      if (fd_.fd < 0) {
        if (errno == EINVAL && o_.direct)
          return option_error(e_, "direct", "--direct: the filesystem holding " + path + " does not support O_DIRECT");
        return sys_error(e_, errno, "open", "--file " + path + ": cannot create the data file");
      }
      r_->created = r_->owned = true;
      fsetxattr(fd_.fd, kOwnerXattr, "created", 7, 0);  // best effort: marks the file as isoprobe's
      r_->file_type = "file";
      r_->file_size = 0;
    } else if (S_ISREG(st.st_mode)) {
      r_->file_type = "file";
      r_->file_size = uint64_t(st.st_size);
      char tag[16];
      r_->owned = getxattr(path.c_str(), kOwnerXattr, tag, sizeof tag) > 0;
      if (writes && !r_->owned && !o_.destructive)
        return refuse("destructive", "--file " + path + ": refusing to write to an existing file that isoprobe did not create; pass --destructive to allow it" +
                      std::string(o_.verify && !pattern_writes(pat_) ? " (--verify writes its pattern first)" : ""));
      if (writes && !(st.st_mode & 0222))
        return refuse("file", "--file " + path + ": the file is read-only (mode " + std::to_string((st.st_mode >> 6) & 7) +
                      std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) + "); a write pattern needs a writable file");
      fd_.fd = open(path.c_str(), (writes ? O_RDWR : O_RDONLY) | flags);
      if (fd_.fd < 0) {
        if (errno == EINVAL && o_.direct)
          return option_error(e_, "direct", "--direct: the filesystem holding " + path + " does not support O_DIRECT");
        return sys_error(e_, errno, "open", "--file " + path);
      }
      if (o_.offset + o_.size > r_->file_size && !r_->owned)
        return option_error(e_, "size", "--file " + path + " is " + human_bytes(r_->file_size) + "; --offset " +
                                            std::to_string(o_.offset) + " + --size " + std::to_string(o_.size) + " needs " +
                                            human_bytes(o_.offset + o_.size));
    } else if (S_ISBLK(st.st_mode)) {
      r_->file_type = "block";
      if (writes && !o_.destructive)
        return refuse("destructive", "--file " + path + ": refusing to write to block device; pass --destructive to allow it");
      if (writes && !o_.force) {
        std::string use = device_in_use(st.st_rdev);
        if (!use.empty())
          return refuse("force", "--file " + path + ": the device is " + use + "; refusing to write to it even with --destructive (--force overrides)");
      }
      fd_.fd = open(path.c_str(), (writes ? O_RDWR : O_RDONLY) | flags);
      if (fd_.fd < 0) return sys_error(e_, errno, "open", "--file " + path);
      if (writes && !o_.force) {
        Fd probe;
        probe.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
        std::string sig = probe.fd >= 0 ? device_signature(probe.fd) : "";
        if (!sig.empty())
          return refuse("force", "--file " + path + ": the device holds a " + sig + "; refusing to write to it even with --destructive (--force overrides)");
      }
      uint64_t bytes = 0;
      if (ioctl(fd_.fd, BLKGETSIZE64, &bytes) != 0) return sys_error(e_, errno, "ioctl", "BLKGETSIZE64 on " + path);
      r_->file_size = bytes;
      if (o_.offset + o_.size > bytes)
        return option_error(e_, "size", "--file " + path + " is " + human_bytes(bytes) + "; --offset + --size need " + human_bytes(o_.offset + o_.size));
    } else {
      return option_error(e_, "file", "--file " + path + ": expected a regular file or a block device");
    }
    if (int rc = lock_target(path)) return rc;
    return check_alignment(path);
  }

  // Two runs on one file (or device) would each measure the other's I/O and see its cached pages:
  // the file is flocked for the whole run, by the probe itself, wherever it runs (host, container).
  int lock_target(const std::string& path) {
    if (o_.lock == "none") return 0;
    int rc = flock_now(fd_.fd, true);
    if (rc == 0) return 0;
    if (rc != -EWOULDBLOCK) return sys_error(e_, -rc, "flock", "--file " + path);
    std::string who;
    for (int pid : flock_holders(fd_.fd)) who += (who.empty() ? " (pid " : ", ") + std::to_string(pid);
    if (!who.empty()) who += ")";
    int r = option_error(e_, "lock", "--file " + path + ": another process" + who +
                                         " holds a lock on it, a concurrent isoprobe run on the same file; wait for it to end, or pass --lock=none to share the file");
    e_->code = "ELOCKED";
    e_->err = EWOULDBLOCK;
    return r;
  }

  int check_alignment(const std::string& path) {
    uint32_t mem = 4096, off = 512;
    struct statx sx;
    if (statx(fd_.fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN)) {
      mem = sx.stx_dio_mem_align;
      off = sx.stx_dio_offset_align;
      if (o_.direct && off == 0)
        return option_error(e_, "direct", "--direct: O_DIRECT is not supported for " + path);
    } else if (r_->file_type == "block") {
      int ss = 0;
      if (ioctl(fd_.fd, BLKSSZGET, &ss) == 0 && ss > 0) off = uint32_t(ss);
    }
    r_->dio_mem_align = mem;
    r_->dio_offset_align = off;
    if (!o_.direct) return 0;
    std::string need = ": expected a multiple of " + std::to_string(off) + " bytes with --direct (the O_DIRECT alignment of " + path + ")";
    if (o_.bs % off) return option_error(e_, "bs", "--bs " + std::to_string(o_.bs) + need);
    if (o_.offset % off) return option_error(e_, "offset", "--offset " + std::to_string(o_.offset) + need);
    if (o_.size % off) return option_error(e_, "size", "--size " + std::to_string(o_.size) + need);
    return 0;
  }

  // Writes the region when it has to hold data: a new or short file of ours (reads of holes
  // measure nothing), or any --verify run (fresh pattern with a fresh nonce).
  int layout() {
    bool need = r_->file_type == "file" && o_.offset + o_.size > r_->file_size;
    if (!need && !o_.verify) return 0;
    Rng seedrng(o_.seed ^ now_ns());
    nonce_ = seedrng.next();
    uint64_t t0 = now_ns();
    Fd w;
    w.fd = open(o_.file.c_str(), O_WRONLY | O_CLOEXEC);
    if (w.fd < 0) return sys_error(e_, errno, "open", "--file " + o_.file + ": opening for layout");
    if (r_->file_type == "file" && o_.offset + o_.size > r_->file_size && ftruncate(w.fd, off_t(o_.offset + o_.size)) != 0)
      return sys_error(e_, errno, "ftruncate", "--file " + o_.file + ": extending to " + human_bytes(o_.offset + o_.size));
    const uint64_t chunk = std::max<uint64_t>(o_.bs, (1ull << 20) / o_.bs * o_.bs);
    AlignedBuf buf(chunk);
    Rng data(o_.seed);
    uint64_t done = 0, last_report = t0;
    while (done < o_.size) {
      uint64_t n = std::min(chunk, o_.size - done);
      if (o_.verify) {
        for (uint64_t b = 0; b < n; b += o_.bs) fill_block(buf.p + b, o_.bs, o_.offset + done + b, nonce_, 0);
      } else {
        for (uint64_t i = 0; i + 8 <= n; i += 8) { uint64_t v = data.next(); std::memcpy(buf.p + i, &v, 8); }
      }
      for (uint64_t put = 0; put < n;) {
        ssize_t k = pwrite(w.fd, buf.p + put, n - put, off_t(o_.offset + done + put));
        if (k < 0) {
          if (errno == EINTR) continue;
          return sys_error(e_, errno, "pwrite", "--file " + o_.file + ": laying out the data region at offset " + std::to_string(o_.offset + done + put));
        }
        put += uint64_t(k);
      }
      done += n;
      if (cancelled()) return sys_error(e_, ECANCELED, "", "cancelled during layout");
      uint64_t t = now_ns();
      if (h_.progress && t - last_report >= 1000000000ull) {
        last_report = t;
        h_.progress(h_.ctx, Progress{"layout", t - t0, done / o_.bs, 0, 0});
      }
    }
    if (fsync(w.fd) != 0) return sys_error(e_, errno, "fsync", "--file " + o_.file + ": after layout");
    r_->laid_out = true;
    r_->layout_ns = now_ns() - t0;
    if (r_->file_type == "file") r_->file_size = std::max(r_->file_size, o_.offset + o_.size);
    return 0;
  }

  int setup() {
    std::string err;
    int rc = clock_init(o_.clock, &r_->clock, &err);
    if (rc < 0) return option_error(e_, "clock", err);
    clock_held_ = true;
    bufs_ = std::make_unique<AlignedBuf>(size_t(o_.bs) * o_.qd);
    scratch_ = std::make_unique<AlignedBuf>(size_t(o_.bs));
    if (!bufs_->p || !scratch_->p) return sys_error(e_, ENOMEM, "posix_memalign", "allocating I/O buffers");
    Rng fill(o_.seed + 1);
    for (uint64_t i = 0; i + 8 <= o_.bs * o_.qd; i += 8) { uint64_t v = fill.next(); std::memcpy(bufs_->p + i, &v, 8); }
    units_.resize(o_.qd);
    EngineSetup s;
    s.fd = fd_.fd;
    s.qd = o_.qd;
    s.bs = o_.bs;
    s.direct = o_.direct;
    s.dsync_per_io = o_.dsync && o_.engine == "pvsync2";
    s.hipri = o_.hipri;
    s.sqpoll = o_.sqpoll;
    s.iopoll = o_.iopoll;
    s.register_files = o_.register_files;
    s.fixed_bufs = o_.fixed_bufs;
    for (uint32_t i = 0; i < o_.qd; i++) {
      units_[i].slot = i;
      units_[i].buf = bufs_->p + size_t(i) * o_.bs;
      s.bufs.push_back(units_[i].buf);
    }
    engine_ = make_engine(o_.engine);
    if ((rc = engine_->init(s, e_)) < 0) return rc;
    r_->async = engine_->is_async();
    r_->engine_detail = engine_->detail();
    if (o_.verify) {
      uint64_t blocks = o_.size / o_.bs;
      blk_.assign(blocks, BlockState{});
    }
    return 0;
  }

  void next_io(IoUnit* u, Rng& rng) {
    uint64_t blocks = o_.size / o_.bs;
    uint64_t blk;
    if (pattern_random(pat_)) {
      blk = rng.below(blocks);
    } else {
      blk = seq_next_;
      seq_next_ = seq_next_ + 1 == blocks ? 0 : seq_next_ + 1;
    }
    u->offset = o_.offset + blk * o_.bs;
    u->len = uint32_t(o_.bs);
    switch (pat_) {
      case Pattern::Read: case Pattern::RandRead: u->write = false; break;
      case Pattern::Write: case Pattern::RandWrite: u->write = true; break;
      case Pattern::RandRW: u->write = rng.below(100) >= o_.rwmix_read; break;
    }
    if (o_.verify) {
      BlockState& b = blk_[blk];
      u->seq = ++io_seq_;
      if (u->write) {
        fill_block(u->buf, o_.bs, u->offset, nonce_, 1);
        b.inflight++;
        b.last_write_seq = u->seq;
      } else {
        u->expect = b.inflight ? 0 : b.written ? 2 : 1;  // 0: overlaps a write, not checkable
      }
    }
  }

  int complete(IoUnit* u, bool measure) {
    if (u->res < 0) {
      std::string hint;
      if (u->res == -EINVAL && o_.engine == "io_uring" && r_->env.gvisor)
        hint = " (gVisor answers io_uring reads and writes with EINVAL; use --engine psync or pvsync2 there)";
      return sys_error(e_, int(-u->res), u->write ? "write" : "read",
                       std::string(engine_->name()) + " " + (u->write ? "write" : "read") + " of " + std::to_string(u->len) +
                           " bytes at offset " + std::to_string(u->offset) + " failed" + hint);
    }
    if (uint64_t(u->res) != u->len)
      return sys_error(e_, EIO, u->write ? "write" : "read",
                       std::string("short ") + (u->write ? "write" : "read") + " at offset " + std::to_string(u->offset) + ": " +
                           std::to_string(u->res) + " of " + std::to_string(u->len) + " bytes");
    if (o_.verify) {
      BlockState& b = blk_[(u->offset - o_.offset) / o_.bs];
      if (u->write) {
        b.inflight--;
        b.written = 1;
      } else if (u->expect == 0 || b.last_write_seq > u->seq) {
        r_->verify_skipped++;
      } else {
        r_->verify_checked++;
        note_mismatch(check_block(u->buf, o_.bs, u->offset, nonce_, u->expect, scratch_->p), u->offset);
      }
    }
    if (!measure) return 0;
    uint64_t total = u->t_done - u->t_start;
    r_->lat.record(total);
    if (r_->async) {
      r_->slat.record(u->t_submit - u->t_start);
      r_->clat.record(u->t_done - u->t_submit);
    }
    DirStats& d = u->write ? r_->wr : r_->rd;
    d.ops++;
    d.bytes += u->len;
    if (pat_ == Pattern::RandRW) d.lat.record(total);
    return 0;
  }

  // One phase. duration_ns > 0: until that much time has passed; otherwise exactly `ops` ops.
  // Long (~90 lines) on purpose: it is the measured hot path, prepare / submit / reap / record in
  // one place, so what runs between two timestamps can be read at once and nothing is called
  // through an extra frame per I/O.
  int loop(bool measure, uint64_t duration_ns, uint64_t ops) {
    Rng rng(o_.seed + (measure ? 0x5eed : 0));
    std::vector<IoUnit*> free_units, done(o_.qd);
    for (auto& u : units_) free_units.push_back(&u);
    Phase ph;
    ph.measure = measure;
    ph.t0 = ph.tick_start = now_ns();
    ph.tick = ph.t0 + 1000000000ull;
    const uint64_t end = duration_ns ? ph.t0 + duration_ns : UINT64_MAX;
    const uint32_t flush_every = o_.fsync ? o_.fsync : o_.fdatasync;
    uint32_t inflight = 0, unsubmitted = 0;
    uint64_t issued = 0;
    bool stop = false;
    int rc;
    // Handles n completions: accounting, the stop test, a flush when due (after draining the
    // queue, so the flush is timed alone), the per-second tick.
    auto completed = [&](int n) -> int {
      for (int i = 0; i < n; i++) free_units.push_back(done[i]);
      int r = account(done.data(), n, &ph);
      if (r < 0) return r;
      uint64_t now = n ? done[n - 1]->t_done : now_ns();
      if (now >= end || (ops && ph.completed >= ops) || cancelled()) stop = true;
      if (flush_every && ph.writes_since_flush >= flush_every) {
        while (inflight > 0) {
          int k = engine_->reap(1, done.data(), inflight, e_);
          if (k < 0) return k;
          inflight -= uint32_t(k);
          for (int i = 0; i < k; i++) free_units.push_back(done[i]);
          if ((r = account(done.data(), k, &ph)) < 0) return r;
        }
        if ((r = do_flush(&ph)) < 0) return r;
        now = now_ns();
      }
      if (now >= ph.tick) emit_tick(&ph, now);
      return 0;
    };
    while (true) {
      while (!stop && inflight < o_.qd && (ops == 0 || issued < ops)) {
        IoUnit* u = free_units.back();
        free_units.pop_back();
        next_io(u, rng);
        u->t_start = now_ns();
        rc = engine_->queue(u, e_);
        if (rc < 0) return rc;
        issued++;
        if (rc == kCompleted) {
          done[0] = u;
          if ((rc = completed(1)) < 0) return rc;
        } else {
          // Submit every `batch` prepared I/Os: with batch 1 (fio's default) the device starts
          // on the first while the next is prepared, which matters where a doorbell is a VM exit.
          if (++unsubmitted >= o_.batch) {
            if ((rc = engine_->commit(e_)) < 0) return rc;
            unsubmitted = 0;
          }
          inflight++;
        }
      }
      if (inflight == 0) break;
      unsubmitted = 0;
      if ((rc = engine_->commit(e_)) < 0) return rc;
      int n = engine_->reap(1, done.data(), inflight, e_);
      if (n < 0) return n;
      inflight -= uint32_t(n);
      if ((rc = completed(n)) < 0) return rc;
    }
    const uint64_t t1 = now_ns();
    if (cancelled()) return sys_error(e_, ECANCELED, "", "the run was cancelled");
    if (measure) {
      r_->elapsed_ns = t1 - ph.t0;
      // The last interval holds what completed after the final tick (the queue draining). A
      // sliver of it would show an absurd rate, so under 100 ms it joins the interval before.
      uint64_t rest = t1 - ph.tick_start;
      if (!r_->series.empty() && rest < 100000000ull) {
        SeriesPoint& last = r_->series.back();
        last.t_ns = t1 - ph.t0;
        last.dur_ns += rest;
        last.ops += ph.tick_ops;
        last.bytes += ph.tick_bytes;
      } else if (ph.tick_ops || r_->series.empty()) {
        r_->series.push_back(SeriesPoint{t1 - ph.t0, rest, ph.tick_ops, ph.tick_bytes});
      }
    } else {
      r_->warmup_ops = ph.completed;
      r_->warmup_ns = t1 - ph.t0;
    }
    return 0;
  }

  struct Phase {
    bool measure = false;
    uint64_t t0 = 0, tick = 0, tick_start = 0, tick_ops = 0, tick_bytes = 0;
    uint64_t completed = 0, writes_since_flush = 0;
  };

  int account(IoUnit** units, int n, Phase* ph) {
    for (int i = 0; i < n; i++) {
      int rc = complete(units[i], ph->measure);
      if (rc < 0) return rc;
      ph->completed++;
      if (units[i]->write) ph->writes_since_flush++;
      if (ph->measure) {
        r_->ops++;
        r_->bytes += units[i]->len;
        ph->tick_ops++;
        ph->tick_bytes += units[i]->len;
      }
    }
    return 0;
  }

  int do_flush(Phase* ph) {
    uint64_t t = now_ns();
    int rc = engine_->flush(o_.fdatasync != 0, e_);
    if (rc < 0) return rc;
    if (ph->measure) r_->flush.record(now_ns() - t);
    ph->writes_since_flush = 0;
    return 0;
  }

  void emit_tick(Phase* ph, uint64_t now) {
    uint64_t dur = now - ph->tick_start;
    if (ph->measure) r_->series.push_back(SeriesPoint{now - ph->t0, dur, ph->tick_ops, ph->tick_bytes});
    if (h_.progress)
      h_.progress(h_.ctx, Progress{ph->measure ? "run" : "warmup", now - ph->t0, ph->completed,
                                   double(ph->tick_ops) * 1e9 / double(dur), double(ph->tick_bytes) * 1e9 / double(dur)});
    ph->tick_start = now;
    ph->tick = now + 1000000000ull;
    ph->tick_ops = 0;
    ph->tick_bytes = 0;
  }

  void note_mismatch(const std::string& why, uint64_t offset) {
    if (why.empty()) return;
    if (r_->verify_mismatches++ == 0) {
      r_->verify_first_bad = int64_t(offset);
      r_->verify_first_reason = why;
    }
  }

  // Reads the whole region back and checks every block against what it must hold now.
  int verify_all() {
    uint64_t blocks = o_.size / o_.bs;
    char* buf = units_[0].buf;
    for (uint64_t b = 0; b < blocks; b++) {
      uint64_t off = o_.offset + b * o_.bs;
      ssize_t k = pread(fd_.fd, buf, o_.bs, off_t(off));
      if (k != ssize_t(o_.bs)) return sys_error(e_, k < 0 ? errno : EIO, "pread", "--verify: reading back offset " + std::to_string(off));
      r_->verify_checked++;
      note_mismatch(check_block(buf, o_.bs, off, nonce_, blk_[b].written ? 2 : 1, scratch_->p), off);
      if (cancelled()) return sys_error(e_, ECANCELED, "", "cancelled during verification");
    }
    if (r_->verify_mismatches) {
      e_->err = EIO;
      e_->code = "EVERIFY";
      e_->message = "--verify: " + std::to_string(r_->verify_mismatches) + " of " + std::to_string(r_->verify_checked) +
                    " blocks did not hold what was written; first at offset " + std::to_string(r_->verify_first_bad) + ": " +
                    r_->verify_first_reason;
      return -EIO;
    }
    return 0;
  }
};

}  // namespace

int run_block(const BlockOptions& o, const RunHooks& hooks, BlockResult* r, Error* e) {
  r->options = o;
  r->env = detect_env();
  Runner runner(o, hooks, r, e);
  return runner.run();
}

}  // namespace isoprobe
