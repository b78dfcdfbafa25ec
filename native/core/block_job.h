// One job of a block run (fio's numjobs): a thread with its own descriptor, engine, buffers,
// queue depth, random stream and histograms, over its slice of the region (--split) or the whole
// region. The run (block.cc) owns the target, the layout, the window and the merge.
#pragma once
#include <atomic>
#include <memory>
#include <vector>

#include "block.h"
#include "block_verify.h"
#include "engine.h"
#include "thread_util.h"

namespace isoprobe {

struct AlignedBuf {
  char* p = nullptr;
  explicit AlignedBuf(size_t n);
  ~AlignedBuf();
  AlignedBuf(const AlignedBuf&) = delete;
  AlignedBuf& operator=(const AlignedBuf&) = delete;
};

// What a job shares with the run: the stop signals, and its progress for the run to report.
struct JobSignals {
  const std::atomic<bool>* cancel = nullptr;  // the caller's
  std::atomic<bool> abort{false};             // another job failed
  bool stopped() const {
    return abort.load(std::memory_order_relaxed) || (cancel && cancel->load(std::memory_order_relaxed));
  }
};

class BlockJob {
 public:
  BlockJob(const BlockOptions& o, Pattern pat, JobResult* r, JobSignals* sig, uint64_t nonce, bool async_hint_gvisor);
  ~BlockJob();
  // In the job's own thread: takes the descriptor, makes its buffers and engine.
  int prepare(int fd, Error* e);
  // One phase. duration_ns > 0: until that much time has passed; otherwise exactly `ops` ops.
  int loop(bool measure, uint64_t duration_ns, uint64_t ops, Error* e);
  // After the run: read the job's slice back and check each block against what it must hold.
  int verify_all(int fd, char* buf, Error* e);
  // Completions so far in the current phase (read by the run for progress, any thread).
  std::atomic<uint64_t> progress_ops{0}, progress_bytes{0};

 private:
  struct Phase;
  void next_io(IoUnit* u, Rng& rng);
  int complete(IoUnit* u, bool measure, Error* e);
  int account(IoUnit** units, int n, Phase* ph, Error* e);
  int do_flush(Phase* ph, Error* e);
  void emit_tick(Phase* ph, uint64_t now);

  const BlockOptions& o_;
  const Pattern pat_;
  JobResult* r_;
  JobSignals* sig_;
  const uint64_t nonce_;
  const bool gvisor_;
  int fd_ = -1;
  bool async_ = false;
  std::unique_ptr<Engine> engine_;
  std::vector<IoUnit> units_;
  std::unique_ptr<AlignedBuf> bufs_, scratch_;
  std::vector<BlockState> blk_;  // --verify: the slice's blocks
  uint64_t io_seq_ = 0, seq_next_ = 0;
};

}  // namespace isoprobe
