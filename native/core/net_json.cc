// Serialises a network result to the shared schema: the members every kind has; the kind's own
// members come from its part (net_kind.h), written by its loop file.
#include "json.h"
#include "net.h"

namespace isoprobe {


std::string net_result_json(const NetResult& r) {
  JsonWriter w;
  const double secs = r.elapsed_ns ? double(r.elapsed_ns) / 1e9 : 0;
  w.begin_object();
  w.kv("schema", kSchemaVersion);
  w.kv("kind", r.kind);
  w.key("probe");
  write_probe_json(w, r.build);
  w.key("options");
  write_net_options_json(w, r.options);
  w.kv("peer", r.peer);
  if (r.part) r.part->write_head(w, r);
  w.kv("transactions", r.transactions);
  w.kv("warmup_transactions", r.warmup_transactions);
  w.kv("elapsed_ns", r.elapsed_ns);
  w.kv("bytes_sent", r.bytes_sent);
  w.kv("bytes_received", r.bytes_received);
  if (r.part) r.part->write_json(w, r, secs);
  w.key("errors");
  w.begin_object();
  w.kv("mismatches", r.mismatches);
  w.kv("lost", r.lost);
  w.kv("late_replies", r.late_replies);
  w.end_object();
  w.key("series");
  write_series_json(w, r.series, "ops_per_s", "bits_per_s", 8);
  w.key("cpu");
  w.begin_object();
  w.kv("scope", "client threads");
  w.kv("user_ns", r.cpu_user_ns);
  w.kv("sys_ns", r.cpu_sys_ns);
  // user_ns and sys_ns run from the start (warm-up included); window_ns is the measured window's.
  w.kv("window_ns", r.cpu_window_ns);
  uint64_t denom = r.part ? r.part->cpu_ops(r) : 0;
  w.kv(r.part ? r.part->cpu_per_name() : "per_transaction_ns", denom ? double(r.cpu_window_ns) / double(denom) : 0.0);
  w.kv("utilization", r.elapsed_ns ? double(r.cpu_user_ns + r.cpu_sys_ns) / double(r.elapsed_ns + r.options.warmup) : 0.0);
  // What other tasks on the client's CPUs cost the window (schedstat), for screening disturbed blocks.
  w.key("run_delay_ns");
  if (r.run_delay_known) w.value(r.run_delay_ns);
  else w.null();
  w.end_object();
  w.key("cpu_placement");
  write_placement_json(w, r.cpus_pinned, r.ran_on, r.server_pinned.empty() ? nullptr : &r.server_pinned);
  return finish_result_json(w, r.clock, r.env);
}

}  // namespace isoprobe
