// Runs one block workload: checks the target, lays out the data, warms up, measures, verifies.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "block_options.h"
#include "clock.h"
#include "env.h"
#include "error.h"
#include "histogram.h"
#include "block_verify.h"
#include "thread_util.h"

namespace isoprobe {

struct Progress {
  const char* phase;      // "layout" | "warmup" | "run" | "verify"
  uint64_t elapsed_ns;    // since the phase began
  uint64_t ops;           // in the phase so far
  double iops;            // in the last second
  double bw_bytes_per_s;  // in the last second
};

struct RunHooks {
  const std::atomic<bool>* cancel = nullptr;
  void (*progress)(void* ctx, const Progress& p) = nullptr;
  // Called at the edges of the measured window ("measure-start" after warm-up, "measure-end"
  // when the last measured operation is in), from the thread that measures or supervises, so the
  // host can sample what the boundary spent over exactly that window.
  void (*mark)(void* ctx, const char* what) = nullptr;
  void* ctx = nullptr;
};

struct SeriesPoint {
  uint64_t t_ns;    // end of the interval, since the measured phase began
  uint64_t dur_ns;  // length of the interval (the last one may be short)
  uint64_t ops, bytes;
};

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

class JsonWriter;
// The per-second series: t_ns, dur_ns, ops, bytes and two rates named by the caller (block:
// "iops"/"bw_bytes_per_s"; net: "ops_per_s"/"bits_per_s", bytes_scale 8).
// The probe's measured identity: sha256 of its own executable, and what was hashed.
void write_identity_json(JsonWriter& w);
// The members every result ends with (clock, env), closing the result object.
std::string finish_result_json(JsonWriter& w, const ClockInfo& clock, const EnvInfo& env);
// {"pinned":[..],"ran_on":[..],"samples","changes_seen"}: where the measuring threads ran.
// `server`: where an echo server of the probe's own was pinned (net --loopback), when it was.
void write_placement_json(JsonWriter& w, const std::vector<int>& pinned, const CpusSeen& seen, const std::vector<int>* server = nullptr);
void write_series_json(JsonWriter& w, const std::vector<SeriesPoint>& series, const char* ops_rate, const char* bytes_rate, double bytes_scale);
std::string error_json(const Error& e, const char* kind);

constexpr int kSchemaVersion = 1;
extern const char* const kProbeVersion;

}  // namespace isoprobe
