// The parts every result shares, block or net: the probe's identity, the per-second series, the
// CPU placement, the closing clock and env, and the error object.
#include "result.h"

#include "json.h"
#include "sha256.h"

namespace isoprobe {

void write_clock_json(JsonWriter& w, const ClockInfo& c) {
  w.begin_object();
  w.kv("source", c.source);
  w.kv("requested", c.requested);
  w.kv("cost_ns", c.cost_ns);
  w.kv("resolution_ns", c.resolution_ns);
  w.kv("observed_step_ns", c.observed_step_ns);
  w.kv("kernel_clocksource", c.kernel_clocksource);
  if (c.source == "tsc" || c.source == "cntvct") {
    w.kv("tsc_hz", c.tsc_hz);
    if (c.nominal_hz > 0) w.kv("nominal_hz", c.nominal_hz);
    w.kv("calibration_ns", c.calibration_ns);
  }
  if (c.max_cpu_skew_ns >= 0) w.kv("max_cpu_skew_ns", c.max_cpu_skew_ns);
  if (!c.fallback_reason.empty()) w.kv("fallback_reason", c.fallback_reason);
  w.end_object();
}


std::string finish_result_json(JsonWriter& w, const ClockInfo& clock, const EnvInfo& env) {
  w.key("clock");
  write_clock_json(w, clock);
  w.key("env");
  write_env_json(w, env);
  w.end_object();
  return w.str();
}

void write_identity_json(JsonWriter& w) {
  const ProbeIdentity& id = probe_identity();
  w.kv("sha256", id.sha256);
  w.kv("sha256_of", id.path);
  if (!id.why.empty()) w.kv("sha256_error", id.why);
}

void write_probe_json(JsonWriter& w, const std::string& build) {
  w.begin_object();
  w.kv("version", kProbeVersion);
  w.kv("build", build);
  write_identity_json(w);
  w.end_object();
}

void write_series_json(JsonWriter& w, const std::vector<SeriesPoint>& series, const char* ops_rate, const char* bytes_rate, double bytes_scale) {
  w.begin_array();
  for (auto& p : series) {
    w.begin_object();
    w.kv("t_ns", p.t_ns);
    w.kv("dur_ns", p.dur_ns);
    w.kv("ops", p.ops);
    w.kv("bytes", p.bytes);
    w.kv(ops_rate, p.dur_ns ? double(p.ops) * 1e9 / double(p.dur_ns) : 0.0);
    w.kv(bytes_rate, p.dur_ns ? double(p.bytes) * bytes_scale * 1e9 / double(p.dur_ns) : 0.0);
    w.end_object();
  }
  w.end_array();
}

void write_placement_json(JsonWriter& w, const std::vector<int>& pinned, const CpusSeen& seen, const std::vector<int>* server) {
  w.begin_object();
  w.key("pinned");
  w.begin_array();
  for (int c : pinned) w.value(int64_t(c));
  w.end_array();
  w.key("ran_on");
  w.begin_array();
  for (int c : seen.cpus) w.value(int64_t(c));
  w.end_array();
  w.kv("samples", seen.samples);
  w.kv("changes_seen", seen.changes);
  if (server) {
    w.key("server_pinned");
    w.begin_array();
    for (int c : *server) w.value(int64_t(c));
    w.end_array();
  }
  w.end_object();
}

std::string error_json(const Error& e, const char* kind) {
  JsonWriter w;
  w.begin_object();
  w.kv("schema", kSchemaVersion);
  w.kv("kind", kind);
  w.key("error");
  w.begin_object();
  w.kv("code", e.code);
  w.kv("errno", e.err);
  w.kv("syscall", e.syscall);
  w.kv("option", e.option);
  w.kv("message", e.message);
  w.end_object();
  w.end_object();
  return w.str();
}

}  // namespace isoprobe
