// Serialises a network result to the shared schema (kind tcp_rr | udp_rr | tcp_stream | udp_stream).
#include "json.h"
#include "net.h"

namespace isoprobe {


namespace {

// A UDP stream: what the senders sent in the window and what the receiver counted of it.
void write_udp_stream_json(JsonWriter& w, const NetResult& r, double secs) {
  UdpStreamReport all;
  double jitter = 0;
  for (auto& s : r.udp_streams) {
    all.sent += s.sent;
    all.warm_sent += s.warm_sent;
    all.received += s.received;
    all.out_of_order += s.out_of_order;
    all.dropped += s.dropped;
    jitter += s.jitter_ns / double(r.udp_streams.size());
  }
  auto write = [&](const UdpStreamReport& s, double jitter_ns) {
    uint64_t lost = s.sent > s.received ? s.sent - s.received : 0;
    w.kv("sent", s.sent);
    w.kv("received", s.received);
    w.kv("lost", lost);
    w.kv("loss", s.sent ? double(lost) / double(s.sent) : 0.0);
    w.kv("out_of_order", s.out_of_order);
    w.kv("dropped_by_test_hook", s.dropped);
    w.kv("jitter_ns", jitter_ns);
    w.kv("sent_pps", secs > 0 ? double(s.sent) / secs : 0.0);
    w.kv("pps", secs > 0 ? double(s.received) / secs : 0.0);
  };
  w.kv("bits_per_s", secs > 0 ? double(all.received * r.options.size) * 8 / secs : 0.0);
  w.kv("counted_at", "receiver (the server): datagrams sent in the measured window that arrived; jitter per RFC 3550 (the mean of the streams')");
  w.key("udp_stream");
  w.begin_object();
  w.kv("rate", r.options.rate);
  w.kv("warmup_sent", all.warm_sent);
  write(all, jitter);
  w.key("streams");
  w.begin_array();
  for (auto& s : r.udp_streams) {
    w.begin_object();
    write(s, s.jitter_ns);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

}  // namespace


std::string net_result_json(const NetResult& r) {
  JsonWriter w;
  const double secs = r.elapsed_ns ? double(r.elapsed_ns) / 1e9 : 0;
  const bool stream = r.options.mode == "stream";
  w.begin_object();
  w.kv("schema", kSchemaVersion);
  w.kv("kind", r.kind);
  w.key("probe");
  write_probe_json(w, r.build);
  w.key("options");
  write_net_options_json(w, r.options);
  w.kv("peer", r.peer);
  if (!stream) w.kv("latency_definition", r.options.rate ? "full round trip, from the intended send time to the last echoed byte"
                                                         : "full round trip, from the send call to the last echoed byte");
  w.kv("transactions", r.transactions);
  w.kv("warmup_transactions", r.warmup_transactions);
  w.kv("elapsed_ns", r.elapsed_ns);
  w.kv("bytes_sent", r.bytes_sent);
  w.kv("bytes_received", r.bytes_received);
  if (stream && r.options.proto == "udp") {
    write_udp_stream_json(w, r, secs);
  } else if (stream) {
    w.kv("bits_per_s", secs > 0 ? double(r.options.reverse ? r.bytes_received : r.bytes_sent) * 8 / secs : 0.0);
    w.kv("counted_at", r.options.reverse ? "receiver (client)" : "sender (client): bytes accepted by the socket");
    w.key("streams");
    w.begin_array();
    for (uint64_t b : r.stream_bytes) {
      w.begin_object();
      w.kv("bytes", b);
      w.kv("bits_per_s", secs > 0 ? double(b) * 8 / secs : 0.0);
      w.end_object();
    }
    w.end_array();
  } else {
    w.kv("tps", secs > 0 ? double(r.transactions) / secs : 0.0);
    w.key("latency_ns");
    r.lat.write_json(w);
  }
  if (r.options.rate && !stream) {
    w.key("open_loop");
    w.begin_object();
    w.kv("rate", r.options.rate);
    w.kv("arrival", r.options.arrival);
    w.kv("intended", r.intended);
    w.kv("achieved_rate", secs > 0 ? double(r.intended) / secs : 0.0);
    w.kv("sent_more_than_1ms_late", r.sent_late);
    // What the server kept up with: replies that arrived inside the window, per second. Past
    // saturation it stays at the server's capacity while achieved_rate follows the schedule.
    w.kv("served_rate", secs > 0 ? double(r.served) / secs : 0.0);
    w.key("send_lag_ns");
    r.lag.write_json(w);
    w.end_object();
  }
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
  uint64_t denom = stream ? (r.options.reverse ? r.bytes_received : r.bytes_sent) : r.transactions;
  w.kv(stream ? "per_byte_ns" : "per_transaction_ns", denom ? double(r.cpu_window_ns) / double(denom) : 0.0);
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
