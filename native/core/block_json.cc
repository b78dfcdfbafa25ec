// Serialises a block result (and errors) to the one JSON schema shared by addon and probe binary.
#include <algorithm>
#include <cinttypes>

#include "block.h"
#include "json.h"

namespace isoprobe {

// Per job (--jobs above 1): its slice, CPU, counts and its own latency histogram, so the spread
// between jobs is visible and the merged histogram can be checked against its parts.
static void write_jobs_json(JsonWriter& w, const std::vector<JobResult>& jobs) {
  w.begin_array();
  for (auto& j : jobs) {
    const double secs = j.elapsed_ns ? double(j.elapsed_ns) / 1e9 : 0;
    w.begin_object();
    w.kv("job", uint64_t(j.index));
    w.kv("offset", j.offset);
    w.kv("size", j.size);
    w.kv("pinned", int64_t(j.pinned));
    w.key("ran_on");
    w.begin_array();
    for (int c : j.ran_on.cpus) w.value(int64_t(c));
    w.end_array();
    w.kv("ops", j.ops);
    w.kv("bytes", j.bytes);
    w.kv("elapsed_ns", j.elapsed_ns);
    w.kv("iops", secs > 0 ? double(j.ops) / secs : 0.0);
    w.kv("bw_bytes_per_s", secs > 0 ? double(j.bytes) / secs : 0.0);
    w.key("latency_ns");
    j.lat.write_json(w);
    w.key("cpu");
    w.begin_object();
    w.kv("user_ns", j.cpu.user_ns);
    w.kv("sys_ns", j.cpu.sys_ns);
    w.end_object();
    w.end_object();
  }
  w.end_array();
}

// --op-log: each job's first measured operations as parallel arrays, job after job, each job's in
// the order they completed; start_ns counts from the earliest job's measured start. `job` only
// with several jobs, `write` (0/1) only where reads and writes mix.
static void write_op_log_json(JsonWriter& w, const BlockResult& r) {
  uint64_t t0 = UINT64_MAX, n = 0;
  for (auto& j : r.jobs) {
    t0 = std::min(t0, j.t0_ns);
    n += j.op_log.size();
  }
  w.begin_object();
  w.kv("ops", n);
  w.kv("per_job", uint64_t(r.options.op_log));
  auto column = [&](const char* name, auto get) {
    w.key(name);
    w.begin_array();
    for (auto& j : r.jobs)
      for (size_t i = 0; i < j.op_log.size(); i++) w.value(uint64_t(get(j, i)));
    w.end_array();
  };
  column("offset", [](const JobResult& j, size_t i) { return j.op_log.offset[i]; });
  column("len", [](const JobResult& j, size_t i) { return j.op_log.len[i]; });
  column("start_ns", [t0](const JobResult& j, size_t i) { return j.op_log.start_ns[i] - t0; });
  column("lat_ns", [](const JobResult& j, size_t i) { return j.op_log.lat_ns[i]; });
  if (r.jobs.size() > 1) column("job", [](const JobResult& j, size_t) { return j.index; });
  if (r.options.pattern == "randrw") column("write", [](const JobResult& j, size_t i) { return j.op_log.write[i]; });
  w.end_object();
}

// The result schema written top to bottom, one member per line (~90 lines): kept in one function
// so it reads like the schema it produces (README "What each number means").
std::string block_result_json(const BlockResult& r) {
  JsonWriter w;
  const double secs = r.elapsed_ns ? double(r.elapsed_ns) / 1e9 : 0;
  w.begin_object();
  w.kv("schema", kSchemaVersion);
  w.kv("kind", "block");
  w.key("probe");
  write_probe_json(w, r.build);
  w.key("options");
  write_block_options_json(w, r.options);
  w.key("file");
  w.begin_object();
  w.kv("type", r.file_type);
  w.kv("size_bytes", r.file_size);
  w.kv("created", r.created);
  w.kv("owned", r.owned);
  w.kv("laid_out", r.laid_out);
  w.kv("layout_ns", r.layout_ns);
  w.kv("dio_mem_align", r.dio_mem_align);
  w.kv("dio_offset_align", r.dio_offset_align);
  if (!r.dsync_via.empty()) w.kv("dsync_via", r.dsync_via);
  w.end_object();
  w.key("engine");
  w.begin_object();
  w.kv("name", r.options.engine);
  w.kv("async", r.async);
  w.kv("detail", r.engine_detail);
  w.end_object();
  w.kv("ops", r.ops);
  w.kv("bytes", r.bytes);
  w.kv("elapsed_ns", r.elapsed_ns);
  w.kv("iops", secs > 0 ? double(r.ops) / secs : 0.0);
  w.kv("bw_bytes_per_s", secs > 0 ? double(r.bytes) / secs : 0.0);
  w.key("latency_ns");
  r.lat.write_json(w);
  if (r.async) {
    w.key("submit_ns");
    r.slat.write_json(w);
    w.key("complete_ns");
    r.clat.write_json(w);
  }
  if (r.flush.count()) {
    w.key("flush_ns");
    r.flush.write_json(w);
  }
  if (r.options.pattern == "randrw") {
    const DirStats* dirs[] = {&r.rd, &r.wr};
    const char* names[] = {"read", "write"};
    for (int i = 0; i < 2; i++) {
      w.key(names[i]);
      w.begin_object();
      w.kv("ops", dirs[i]->ops);
      w.kv("bytes", dirs[i]->bytes);
      w.kv("iops", secs > 0 ? double(dirs[i]->ops) / secs : 0.0);
      w.key("latency_ns");
      dirs[i]->lat.write_json(w);
      w.end_object();
    }
  }
  w.key("series");
  write_series_json(w, r.series, "iops", "bw_bytes_per_s", 1);
  w.key("warmup");
  w.begin_object();
  w.kv("ops", r.warmup_ops);
  w.kv("elapsed_ns", r.warmup_ns);
  w.end_object();
  w.key("cpu");
  w.begin_object();
  w.kv("user_ns", r.cpu_user_ns);
  w.kv("sys_ns", r.cpu_sys_ns);
  w.kv("window_ns", r.cpu_user_ns + r.cpu_sys_ns);  // the measured window's, as net reports it
  w.kv("per_op_ns", r.ops ? double(r.cpu_user_ns + r.cpu_sys_ns) / double(r.ops) : 0.0);
  w.kv("utilization", r.elapsed_ns ? double(r.cpu_user_ns + r.cpu_sys_ns) / double(r.elapsed_ns) : 0.0);
  w.kv("ctx_voluntary", r.ctx_voluntary);
  w.kv("ctx_involuntary", r.ctx_involuntary);
  // What other tasks on the measuring CPUs cost the window (schedstat), for screening disturbed blocks.
  w.key("run_delay_ns");
  if (r.run_delay_known) w.value(r.run_delay_ns);
  else w.null();
  w.end_object();
  w.key("page_cache");
  w.begin_object();
  w.kv("scope", "kernel the probe ran on");
  w.kv("invalidated", r.invalidated);
  w.kv("fadvise", r.fadvise);
  w.kv("region_bytes", r.options.size);
  w.kv("resident_bytes_before", r.resident_before);
  w.kv("resident_bytes_after", r.resident_after);
  w.end_object();
  w.key("verify");
  w.begin_object();
  w.kv("enabled", r.options.verify);
  w.kv("blocks_checked", r.verify.checked);
  w.kv("blocks_skipped_racing_writes", r.verify.skipped);
  w.kv("mismatches", r.verify.mismatches);
  if (r.verify.first_bad >= 0) w.kv("first_mismatch_offset", r.verify.first_bad);
  if (!r.verify.first_reason.empty()) w.kv("first_mismatch", r.verify.first_reason);
  w.end_object();
  w.key("cpu_placement");
  write_placement_json(w, r.cpus_pinned, r.ran_on);
  if (r.jobs.size() > 1) {
    w.key("jobs");
    write_jobs_json(w, r.jobs);
  }
  if (r.options.op_log) {
    w.key("op_log");
    write_op_log_json(w, r);
  }
  return finish_result_json(w, r.clock, r.env);
}

}  // namespace isoprobe
