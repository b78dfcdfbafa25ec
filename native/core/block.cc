// A block run: checks the target, lays out the data, runs its jobs (one thread each) through
// warm-up and the measured window together, merges what they measured, verifies.
#include "block.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "block_job.h"
#include "block_target.h"
#include "page_cache.h"

namespace isoprobe {


namespace {

struct Fd {
  int fd = -1;
  ~Fd() { if (fd >= 0) close(fd); }
};

std::string human_bytes(uint64_t b) { return std::to_string(b) + " bytes"; }

void nap_ms(int ms) {
  timespec ts{0, long(ms) * 1000000l};
  nanosleep(&ts, nullptr);
}

class Run {
 public:
  Run(const BlockOptions& o, const RunHooks& h, BlockResult* r, Error* e) : o_(o), h_(h), r_(r), e_(e) { sig_.cancel = h.cancel; }
  ~Run() {
    jobs_.clear();  // engines and descriptors before the clock
    for (int fd : fds_)
      if (fd >= 0) close(fd);
    if (clock_held_) clock_release();
  }

  int run() {
    int rc;
    parse_pattern(o_.pattern, &pat_);
    if ((rc = validate_block_options(o_, e_)) < 0) return rc;
    if ((rc = placement_cpus(o_.cpus, o_.cpu, &r_->cpus_pinned, e_)) < 0) return rc;
    if ((rc = open_block_target(o_, pat_, &target_, r_, e_)) < 0) return rc;
    if ((rc = layout()) < 0) return rc;
    std::string err;
    if ((rc = clock_init(o_.clock, &r_->clock, &err)) < 0) return option_error(e_, "clock", err);
    clock_held_ = true;
    if ((rc = make_jobs()) < 0) return rc;
    invalidate();
    r_->resident_before = resident_bytes(target_.fd, o_.offset, o_.size);
    if ((rc = execute()) < 0) return rc;
    merge();
    r_->resident_after = settled_resident_bytes(target_.fd, o_.offset, o_.size);
    if (o_.verify && (rc = verify()) < 0) return rc;
    return 0;
  }

 private:
  const BlockOptions& o_;
  const RunHooks& h_;
  BlockResult* r_;
  Error* e_;
  Pattern pat_ = Pattern::RandRead;
  BlockTarget target_;
  JobSignals sig_;
  std::vector<std::unique_ptr<BlockJob>> jobs_;
  std::vector<int> fds_;  // each job's own descriptor, handed to it when it prepares
  bool clock_held_ = false;
  uint64_t nonce_ = 0;

  bool cancelled() const { return h_.cancel && h_.cancel->load(std::memory_order_relaxed); }

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

  void invalidate() {
    if (!o_.invalidate) return;
    if (r_->file_type == "file") {
      fdatasync(target_.fd);
      r_->invalidated = posix_fadvise(target_.fd, off_t(o_.offset), off_t(o_.size), POSIX_FADV_DONTNEED) == 0;
    } else {
      r_->invalidated = ioctl(target_.fd, BLKFLSBUF, 0) == 0 ||
                        posix_fadvise(target_.fd, off_t(o_.offset), off_t(o_.size), POSIX_FADV_DONTNEED) == 0;
    }
  }

  // Each job: its slice (--split) or the whole region, its own random stream (job 0's is the one
  // a single-job run has always used), its CPU and its own descriptor. Its buffers and engine it
  // makes in its own thread: an io_uring ring with SINGLE_ISSUER takes submissions from the task
  // that made it only (EEXIST from any other).
  int make_jobs() {
    const uint32_t n = effective_jobs(o_);
    const uint64_t slice = o_.split ? (o_.size / o_.bs / n) * o_.bs : o_.size;
    r_->jobs.resize(n);
    r_->fadvise = effective_fadvise(o_, pat_);
    for (uint32_t i = 0; i < n; i++) {
      JobResult& j = r_->jobs[i];
      j.index = i;
      j.offset = o_.offset + (o_.split ? slice * i : 0);
      j.size = slice;
      j.seed = o_.seed + uint64_t(i) * 0x9e3779b97f4a7c15ull;
      j.pinned = r_->cpus_pinned.empty() ? -1 : r_->cpus_pinned[i % r_->cpus_pinned.size()];
      jobs_.push_back(std::make_unique<BlockJob>(o_, pat_, &j, &sig_, nonce_, r_->env.gvisor));
      fds_.push_back(target_.open_again(e_));
      if (fds_.back() < 0) return fds_.back();
      if (int rc = advise(fds_.back()); rc < 0) return rc;
    }
    return 0;
  }

  // The readahead hint is the open file's (FMODE_RANDOM and the readahead window live in the
  // struct file), so each job's own descriptor gets it.
  int advise(int fd) {
    int advice = r_->fadvise == "random" ? POSIX_FADV_RANDOM : r_->fadvise == "sequential" ? POSIX_FADV_SEQUENTIAL : POSIX_FADV_NORMAL;
    int rc = posix_fadvise(fd, 0, 0, advice);
    if (rc != 0) return sys_error(e_, rc, "posix_fadvise", "--fadvise " + r_->fadvise + " on " + o_.file);
    return 0;
  }

  int execute();
  void report_progress(const char* phase, uint64_t t_phase, uint64_t* last_t, uint64_t* last_ops);
  void merge();

  int verify() {
    AlignedBuf buf(o_.bs), scratch(o_.bs);
    if (!buf.p) return sys_error(e_, ENOMEM, "posix_memalign", "allocating the verification buffer");
    for (size_t i = 0; i < jobs_.size(); i++) {
      int rc = jobs_[i]->verify_all(target_.fd, buf.p, e_);
      if (rc < 0) return rc;
    }
    r_->verify = VerifyCounts{};
    for (auto& j : r_->jobs) {
      r_->verify.checked += j.verify.checked;
      r_->verify.skipped += j.verify.skipped;
      if (j.verify.mismatches && !r_->verify.mismatches) {
        r_->verify.first_bad = j.verify.first_bad;
        r_->verify.first_reason = j.verify.first_reason;
      }
      r_->verify.mismatches += j.verify.mismatches;
    }
    if (!r_->verify.mismatches) return 0;
    e_->err = EIO;
    e_->code = "EVERIFY";
    e_->message = "--verify: " + std::to_string(r_->verify.mismatches) + " of " + std::to_string(r_->verify.checked) +
                  " blocks did not hold what was written; first at offset " + std::to_string(r_->verify.first_bad) + ": " +
                  r_->verify.first_reason;
    return -EIO;
  }
};

// The jobs warm up together, wait for each other, and are released into the measured window at
// once: the window's edges (the marks) are the release and the last job's end. The calling
// thread reports progress meanwhile. The first job to fail stops the others; its error is the run's.
int Run::execute() {
  const uint32_t n = uint32_t(jobs_.size());
  std::vector<Error> errs(n);
  std::mutex mu;
  std::condition_variable cv;
  uint32_t arrived = 0;
  bool go = false;
  int failed = -1;
  std::atomic<uint32_t> finished{0};
  auto note_failure = [&](uint32_t i) {  // with mu held
    if (failed < 0) failed = int(i);
    sig_.abort = true;
  };
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < n; i++) {
    threads.emplace_back([&, i] {
      JobResult& jr = r_->jobs[i];
      int rc = jr.pinned >= 0 ? pin_thread(jr.pinned, o_.cpus.empty() ? "cpu" : "cpus", &errs[i]) : 0;
      if (rc == 0) rc = jobs_[i]->prepare(std::exchange(fds_[i], -1), &errs[i]);
      if (rc == 0 && o_.warmup > 0) rc = jobs_[i]->loop(false, o_.warmup, 0, &errs[i]);
      {
        std::unique_lock<std::mutex> l(mu);
        if (rc < 0) note_failure(i);
        arrived++;
        cv.notify_all();
        cv.wait(l, [&] { return go || sig_.abort.load(); });
      }
      if (rc == 0 && !sig_.abort) {
        ThreadTimes a = ThreadTimes::now();
        rc = jobs_[i]->loop(true, o_.ops ? 0 : o_.duration, o_.ops, &errs[i]);
        jr.cpu = ThreadTimes::now().since(a);
        if (rc < 0) {
          std::lock_guard<std::mutex> l(mu);
          note_failure(i);
        }
      }
      finished++;
    });
  }
  uint64_t t_phase = now_ns(), last_t = t_phase, last_ops = 0;
  {
    std::unique_lock<std::mutex> l(mu);
    while (arrived < n && !sig_.abort) {
      cv.wait_for(l, std::chrono::milliseconds(20));
      l.unlock();
      report_progress("warmup", t_phase, &last_t, &last_ops);
      l.lock();
    }
    if (!sig_.abort && h_.mark) h_.mark(h_.ctx, "measure-start");
    go = true;
    cv.notify_all();
  }
  t_phase = last_t = now_ns();
  last_ops = 0;
  while (finished.load() < n) {
    nap_ms(20);
    report_progress("run", t_phase, &last_t, &last_ops);
  }
  for (auto& t : threads) t.join();
  r_->engine_detail = r_->jobs[0].engine_detail;
  r_->async = r_->jobs[0].async;
  if (failed >= 0) {
    *e_ = errs[size_t(failed)];
    return -e_->err;
  }
  if (cancelled()) return sys_error(e_, ECANCELED, "", "the run was cancelled");
  if (h_.mark) h_.mark(h_.ctx, "measure-end");
  return 0;
}

// Once a second: the phase's elapsed time, operations so far and the last second's rates.
void Run::report_progress(const char* phase, uint64_t t_phase, uint64_t* last_t, uint64_t* last_ops) {
  if (!h_.progress) return;
  uint64_t now = now_ns();
  if (now - *last_t < 1000000000ull) return;
  uint64_t ops = 0;
  for (auto& j : jobs_) ops += j->progress_ops.load(std::memory_order_relaxed);
  double secs = double(now - *last_t) / 1e9;
  double iops = ops >= *last_ops ? double(ops - *last_ops) / secs : 0;
  h_.progress(h_.ctx, Progress{phase, now - t_phase, ops, iops, iops * double(o_.bs)});
  *last_t = now;
  *last_ops = ops;
}

// The jobs into the run's totals: counts add, histograms merge exactly, the per-second series
// add interval by interval, the window runs from the first job's start to the last one's end.
void Run::merge() {
  uint64_t t0 = UINT64_MAX, t1 = 0;
  for (auto& j : r_->jobs) {
    r_->ops += j.ops;
    r_->bytes += j.bytes;
    r_->warmup_ops += j.warmup_ops;
    r_->warmup_ns = std::max(r_->warmup_ns, j.warmup_ns);
    r_->lat.merge(j.lat);
    r_->slat.merge(j.slat);
    r_->clat.merge(j.clat);
    r_->flush.merge(j.flush);
    DirStats* dirs[] = {&r_->rd, &r_->wr};
    const DirStats* theirs[] = {&j.rd, &j.wr};
    for (int d = 0; d < 2; d++) {
      dirs[d]->ops += theirs[d]->ops;
      dirs[d]->bytes += theirs[d]->bytes;
      dirs[d]->lat.merge(theirs[d]->lat);
    }
    for (size_t s = 0; s < j.series.size(); s++) {
      if (s >= r_->series.size()) r_->series.push_back(SeriesPoint{0, 0, 0, 0});
      SeriesPoint& p = r_->series[s];
      p.t_ns = std::max(p.t_ns, j.series[s].t_ns);
      p.dur_ns = std::max(p.dur_ns, j.series[s].dur_ns);
      p.ops += j.series[s].ops;
      p.bytes += j.series[s].bytes;
    }
    r_->cpu_user_ns += j.cpu.user_ns;
    r_->cpu_sys_ns += j.cpu.sys_ns;
    r_->ctx_voluntary += j.cpu.vcsw;
    r_->ctx_involuntary += j.cpu.ivcsw;
    if (j.cpu.run_delay_ns == kNoRunDelay) r_->run_delay_known = false;
    else r_->run_delay_ns += j.cpu.run_delay_ns;
    r_->ran_on.merge(j.ran_on);
    t0 = std::min(t0, j.t0_ns);
    t1 = std::max(t1, j.t1_ns);
  }
  r_->elapsed_ns = t1 > t0 ? t1 - t0 : 0;
}

}  // namespace

int run_block(const BlockOptions& o, const RunHooks& hooks, BlockResult* r, Error* e) {
  r->options = o;
  r->env = detect_env();
  Run run(o, hooks, r, e);
  return run.run();
}

}  // namespace isoprobe
