// Runs one block workload: checks the target, lays out the data, warms up, measures, verifies.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "block_options.h"
#include "result.h"
#include "clock.h"
#include "env.h"
#include "error.h"
#include "histogram.h"
#include "block_verify.h"
#include "thread_util.h"

namespace isoprobe {

struct DirStats {
  uint64_t ops = 0, bytes = 0;
  Histogram lat;
};

// Each logged operation of a job (--op-log), in the order it completed: parallel arrays.
struct OpLog {
  std::vector<uint64_t> offset, start_ns, lat_ns;  // start_ns: on the run's clock
  std::vector<uint32_t> len;
  std::vector<uint8_t> write;
  size_t size() const { return offset.size(); }
  void reserve(size_t n) {
    offset.reserve(n), start_ns.reserve(n), lat_ns.reserve(n), len.reserve(n), write.reserve(n);
  }
};

// One job's share of a run (--jobs): its slice, where it ran, its counts and histograms.
struct JobResult {
  uint32_t index = 0;
  uint64_t offset = 0, size = 0;  // its slice: the whole region without --split
  uint64_t seed = 0;              // of its random offsets
  std::string engine_detail;
  bool async = false;
  int pinned = -1;                // the CPU --cpus gave it, -1 none
  uint64_t ops = 0, bytes = 0, elapsed_ns = 0;
  uint64_t t0_ns = 0, t1_ns = 0;  // its measured phase, on the run's clock
  uint64_t warmup_ops = 0, warmup_ns = 0;
  Histogram lat, slat, clat, flush;
  DirStats rd, wr;
  std::vector<SeriesPoint> series;
  ThreadTimes cpu;                // over its measured phase
  CpusSeen ran_on;                // sampled over its measured phase
  VerifyCounts verify;
  OpLog op_log;                   // its first --op-log measured operations
};

struct BlockResult {
  BlockOptions options;
  std::string build;  // "addon" | "static"
  // the data file
  std::string file_type;  // "file" | "block"
  bool created = false, owned = false, laid_out = false;
  uint64_t file_size = 0, layout_ns = 0;
  uint32_t dio_mem_align = 0, dio_offset_align = 0;
  std::string dsync_via;
  // engine
  std::string engine_detail;
  bool async = false;
  // measured phase
  uint64_t ops = 0, bytes = 0, elapsed_ns = 0;
  uint64_t warmup_ops = 0, warmup_ns = 0;
  Histogram lat, slat, clat, flush;
  DirStats rd, wr;
  std::vector<SeriesPoint> series;
  uint64_t cpu_user_ns = 0, cpu_sys_ns = 0, ctx_voluntary = 0, ctx_involuntary = 0;
  // Time the measuring threads waited, runnable, for a CPU over the window (kNoRunDelay: unknown).
  uint64_t run_delay_ns = 0;
  bool run_delay_known = true;
  // page cache of the kernel the probe runs on (host or guest)
  bool invalidated = false;
  std::string fadvise;            // the hint each job's descriptor was given
  int64_t resident_before = -1, resident_after = -1;
  // verification, over all jobs
  VerifyCounts verify;
  // the jobs (one without --jobs), and the CPUs they were pinned to (--cpus)
  std::vector<JobResult> jobs;
  std::vector<int> cpus_pinned;
  CpusSeen ran_on;
  ClockInfo clock;
  EnvInfo env;
};

// Returns 0, or a negative errno with *e filled. Never prints.
int run_block(const BlockOptions& o, const RunHooks& hooks, BlockResult* r, Error* e);

std::string block_result_json(const BlockResult& r);

}  // namespace isoprobe
