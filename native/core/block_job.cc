// One job of a block run (block_job.h): prepare, the measured loop, verification of its slice.
#include "block_job.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "clock.h"

namespace isoprobe {

AlignedBuf::AlignedBuf(size_t n) {
  if (posix_memalign(reinterpret_cast<void**>(&p), 4096, n ? n : 4096) != 0) p = nullptr;
}
AlignedBuf::~AlignedBuf() { free(p); }

struct BlockJob::Phase {
  bool measure = false;
  uint64_t t0 = 0, tick = 0, tick_start = 0, tick_ops = 0, tick_bytes = 0;
  uint64_t completed = 0, writes_since_flush = 0;
};

BlockJob::BlockJob(const BlockOptions& o, Pattern pat, JobResult* r, JobSignals* sig, uint64_t nonce, bool gvisor)
    : o_(o), pat_(pat), r_(r), sig_(sig), nonce_(nonce), gvisor_(gvisor) {}

BlockJob::~BlockJob() {
  if (engine_) engine_->cleanup();
  if (fd_ >= 0) close(fd_);
}

int BlockJob::prepare(int fd, Error* e) {
  fd_ = fd;
  bufs_ = std::make_unique<AlignedBuf>(size_t(o_.bs) * o_.qd);
  scratch_ = std::make_unique<AlignedBuf>(size_t(o_.bs));
  if (!bufs_->p || !scratch_->p) return sys_error(e, ENOMEM, "posix_memalign", "allocating I/O buffers");
  Rng fill(o_.seed + 1 + r_->index);
  for (uint64_t i = 0; i + 8 <= o_.bs * o_.qd; i += 8) { uint64_t v = fill.next(); std::memcpy(bufs_->p + i, &v, 8); }
  units_.resize(o_.qd);
  EngineSetup s;
  s.fd = fd_;
  s.qd = o_.qd;
  s.bs = o_.bs;
  s.direct = o_.direct;
  s.dsync_per_io = o_.dsync && engine_info(o_.engine)->caps.dsync_per_io;
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
  int rc = engine_->init(s, e);
  if (rc < 0) return rc;
  async_ = r_->async = engine_->is_async();
  r_->engine_detail = engine_->detail();
  if (o_.verify) blk_.assign(r_->size / o_.bs, BlockState{});
  // The log's room is taken now, so logging in the measured loop never allocates.
  r_->op_log.reserve(o_.ops ? std::min<uint64_t>(o_.op_log, o_.ops) : o_.op_log);
  // Sequential jobs over a shared region start apart, so they do not read the same blocks in step.
  seq_next_ = o_.split ? 0 : (r_->size / o_.bs) * r_->index / effective_jobs(o_);
  return 0;
}

void BlockJob::next_io(IoUnit* u, Rng& rng) {
  const uint64_t blocks = r_->size / o_.bs;
  uint64_t blk;
  if (pattern_random(pat_)) {
    blk = rng.below(blocks);
  } else {
    blk = seq_next_;
    seq_next_ = seq_next_ + 1 == blocks ? 0 : seq_next_ + 1;
  }
  u->offset = r_->offset + blk * o_.bs;
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

int BlockJob::complete(IoUnit* u, bool measure, Error* e) {
  if (u->res < 0) {
    std::string hint;
    const char* gv = engine_info(o_.engine)->gvisor_einval_hint;
    if (u->res == -EINVAL && gvisor_ && *gv) hint = std::string(" (") + gv + ")";
    return sys_error(e, int(-u->res), u->write ? "write" : "read",
                     std::string(engine_->name()) + " " + (u->write ? "write" : "read") + " of " + std::to_string(u->len) +
                         " bytes at offset " + std::to_string(u->offset) + " failed" + hint);
  }
  if (uint64_t(u->res) != u->len)
    return sys_error(e, EIO, u->write ? "write" : "read",
                     std::string("short ") + (u->write ? "write" : "read") + " at offset " + std::to_string(u->offset) + ": " +
                         std::to_string(u->res) + " of " + std::to_string(u->len) + " bytes");
  if (o_.verify) {
    BlockState& b = blk_[(u->offset - r_->offset) / o_.bs];
    if (u->write) {
      b.inflight--;
      b.written = 1;
    } else if (u->expect == 0 || b.last_write_seq > u->seq) {
      r_->verify.skipped++;
    } else {
      r_->verify.checked++;
      r_->verify.note(check_block(u->buf, o_.bs, u->offset, nonce_, u->expect, scratch_->p), u->offset);
    }
  }
  if (!measure) return 0;
  uint64_t total = u->t_done - u->t_start;
  r_->lat.record(total);
  if (async_) {
    r_->slat.record(u->t_submit - u->t_start);
    r_->clat.record(u->t_done - u->t_submit);
  }
  DirStats& d = u->write ? r_->wr : r_->rd;
  d.ops++;
  d.bytes += u->len;
  if (pat_ == Pattern::RandRW) d.lat.record(total);
  OpLog& log = r_->op_log;
  if (log.size() < o_.op_log) {
    log.offset.push_back(u->offset);
    log.len.push_back(u->len);
    log.start_ns.push_back(u->t_start);
    log.lat_ns.push_back(total);
    log.write.push_back(u->write);
  }
  return 0;
}

// Long (~90 lines) on purpose: it is the measured hot path, prepare / submit / reap / record in
// one place, so what runs between two timestamps can be read at once and nothing is called
// through an extra frame per I/O.
int BlockJob::loop(bool measure, uint64_t duration_ns, uint64_t ops, Error* e) {
  Rng rng(r_->seed + (measure ? 0x5eed : 0));
  std::vector<IoUnit*> free_units, done(o_.qd);
  for (auto& u : units_) free_units.push_back(&u);
  Phase ph;
  ph.measure = measure;
  ph.t0 = ph.tick_start = now_ns();
  ph.tick = ph.t0 + 1000000000ull;
  progress_ops.store(0, std::memory_order_relaxed);
  progress_bytes.store(0, std::memory_order_relaxed);
  const uint64_t end = duration_ns ? ph.t0 + duration_ns : UINT64_MAX;
  const uint32_t flush_every = o_.fsync ? o_.fsync : o_.fdatasync;
  uint32_t inflight = 0, unsubmitted = 0;
  uint64_t issued = 0;
  bool stop = false;
  int rc;
  if (measure) r_->ran_on.sample();
  // Handles n completions: accounting, the stop test, a flush when due (after draining the
  // queue, so the flush is timed alone), the per-second tick.
  auto completed = [&](int n) -> int {
    for (int i = 0; i < n; i++) free_units.push_back(done[i]);
    int r = account(done.data(), n, &ph, e);
    if (r < 0) return r;
    uint64_t now = n ? done[n - 1]->t_done : now_ns();
    if (now >= end || (ops && ph.completed >= ops) || sig_->stopped()) stop = true;
    if (flush_every && ph.writes_since_flush >= flush_every) {
      while (inflight > 0) {
        int k = engine_->reap(1, done.data(), inflight, e);
        if (k < 0) return k;
        inflight -= uint32_t(k);
        for (int i = 0; i < k; i++) free_units.push_back(done[i]);
        if ((r = account(done.data(), k, &ph, e)) < 0) return r;
      }
      if ((r = do_flush(&ph, e)) < 0) return r;
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
      rc = engine_->queue(u, e);
      if (rc < 0) return rc;
      issued++;
      if (rc == kCompleted) {
        done[0] = u;
        if ((rc = completed(1)) < 0) return rc;
      } else {
        // Submit every `batch` prepared I/Os: with batch 1 (fio's default) the device starts
        // on the first while the next is prepared, which matters where a doorbell is a VM exit.
        if (++unsubmitted >= o_.batch) {
          if ((rc = engine_->commit(e)) < 0) return rc;
          unsubmitted = 0;
        }
        inflight++;
      }
    }
    if (inflight == 0) break;
    unsubmitted = 0;
    if ((rc = engine_->commit(e)) < 0) return rc;
    int n = engine_->reap(1, done.data(), inflight, e);
    if (n < 0) return n;
    inflight -= uint32_t(n);
    if ((rc = completed(n)) < 0) return rc;
  }
  const uint64_t t1 = now_ns();
  if (sig_->cancel && sig_->cancel->load()) return sys_error(e, ECANCELED, "", "the run was cancelled");
  if (!measure) {
    r_->warmup_ops = ph.completed;
    r_->warmup_ns = t1 - ph.t0;
    return 0;
  }
  r_->ran_on.sample();
  r_->t0_ns = ph.t0;
  r_->t1_ns = t1;
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
  return 0;
}

int BlockJob::account(IoUnit** units, int n, Phase* ph, Error* e) {
  for (int i = 0; i < n; i++) {
    int rc = complete(units[i], ph->measure, e);
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
  // Plain stores (no read-modify-write): the run reads them once a second for progress.
  progress_ops.store(ph->completed, std::memory_order_relaxed);
  if (ph->measure) progress_bytes.store(r_->bytes, std::memory_order_relaxed);
  return 0;
}

int BlockJob::do_flush(Phase* ph, Error* e) {
  uint64_t t = now_ns();
  int rc = engine_->flush(o_.fdatasync != 0, e);
  if (rc < 0) return rc;
  if (ph->measure) r_->flush.record(now_ns() - t);
  ph->writes_since_flush = 0;
  return 0;
}

void BlockJob::emit_tick(Phase* ph, uint64_t now) {
  if (ph->measure) {
    r_->series.push_back(SeriesPoint{now - ph->t0, now - ph->tick_start, ph->tick_ops, ph->tick_bytes});
    r_->ran_on.sample();
  }
  ph->tick_start = now;
  ph->tick = now + 1000000000ull;
  ph->tick_ops = 0;
  ph->tick_bytes = 0;
}

int BlockJob::verify_all(int fd, char* buf, Error* e) {
  const uint64_t blocks = r_->size / o_.bs;
  for (uint64_t b = 0; b < blocks; b++) {
    uint64_t off = r_->offset + b * o_.bs;
    ssize_t k = pread(fd, buf, o_.bs, off_t(off));
    if (k != ssize_t(o_.bs)) return sys_error(e, k < 0 ? errno : EIO, "pread", "--verify: reading back offset " + std::to_string(off));
    r_->verify.checked++;
    r_->verify.note(check_block(buf, o_.bs, off, nonce_, blk_[b].written ? 2 : 1, scratch_->p), off);
    if (sig_->cancel && sig_->cancel->load()) return sys_error(e, ECANCELED, "", "cancelled during verification");
  }
  return 0;
}

}  // namespace isoprobe
