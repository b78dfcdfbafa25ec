// What every workload's run and result share, whatever it measures: the hooks a run is given
// (cancel, progress, the window's marks), the per-second series, and the JSON members every result
// writes (probe identity, placement, clock, env, errors). block.h and net.h each build on it.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "clock.h"
#include "env.h"
#include "error.h"
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

class JsonWriter;
// The probe's measured identity: sha256 of its own executable, and what was hashed.
void write_identity_json(JsonWriter& w);
// The members every result ends with (clock, env), closing the result object.
std::string finish_result_json(JsonWriter& w, const ClockInfo& clock, const EnvInfo& env);
// {"pinned":[..],"ran_on":[..],"samples","changes_seen"}: where the measuring threads ran.
// `server`: where an echo server of the probe's own was pinned (net --loopback), when it was.
void write_placement_json(JsonWriter& w, const std::vector<int>& pinned, const CpusSeen& seen, const std::vector<int>* server = nullptr);
// {"version","build",sha256...}: the result's "probe" member.
void write_probe_json(JsonWriter& w, const std::string& build);
void write_clock_json(JsonWriter& w, const ClockInfo& c);
// The per-second series: t_ns, dur_ns, ops, bytes and two rates named by the caller (block:
// "iops"/"bw_bytes_per_s"; net: "ops_per_s"/"bits_per_s", bytes_scale 8).
void write_series_json(JsonWriter& w, const std::vector<SeriesPoint>& series, const char* ops_rate, const char* bytes_rate, double bytes_scale);
std::string error_json(const Error& e, const char* kind);

constexpr int kSchemaVersion = 1;
extern const char* const kProbeVersion;

}  // namespace isoprobe
