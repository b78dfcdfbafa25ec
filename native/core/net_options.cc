// The table of network options, their textual parsing and cross-field validation.
#include "net_options.h"

#include <algorithm>
#include <deque>

#include "net_addr.h"
#include "net_kind.h"
#include "option_table.h"
#include "thread_util.h"

namespace isoprobe {

namespace {

using N = NetOptions;

// Each row's defaults by kind, "kind=value|...", gathered from the kinds' entries ("size=128k").
OptionTable<N> with_kind_defaults(OptionTable<N> t) {
  static std::deque<std::string> keep;  // what the rows' by_kind point into
  for (auto& f : t) {
    std::string by;
    for (auto* k : net_kind_registry()) {
      std::string d = k->defaults;
      for (size_t at = 0; at < d.size();) {
        size_t comma = std::min(d.find(',', at), d.size()), eq = d.find('=', at);
        if (eq < comma && d.compare(at, eq - at, f.spec.name) == 0) by += (by.empty() ? "" : "|") + std::string(k->name) + "=" + d.substr(eq + 1, comma - eq - 1);
        at = comma + 1;
      }
    }
    if (!by.empty()) f.by_kind = keep.emplace_back(by).c_str();
  }
  return t;
}

const OptionTable<N>& table() {
  static const OptionTable<N> t = with_kind_defaults({
      field<N>("proto", &N::proto, "transport", "tcp|udp"),
      run_setting(field<N>("connect", &N::connect, "server ADDR:PORT (rr, stream)")),
      run_setting(field<N>("bind", &N::bind, "serve: listen on ADDR:PORT; port 0 picks a free one")),
      // Its defaults by kind (a stream's size) are the kinds' own (NetKind::defaults).
      field<N>("size", "size", &N::size, "message size", 1, 16ll << 20),
      run_setting(field<N>("duration", "duration", &N::duration, "measured time; serve: how long to serve, 0 until stopped")),
      run_setting(field<N>("warmup", "duration", &N::warmup, "warm-up, excluded from results")),
      field<N>("conns", "uint", &N::conns, "rr: connections, one thread each", 1, 256),
      field<N>("streams", "uint", &N::streams, "stream: parallel streams", 1, 256),
      field<N>("reverse", &N::reverse, "stream: the server sends, the client receives"),
      field<N>("rate", "uint", &N::rate, "rr: open loop at this many requests/s in all (latency from the intended send time), 0 = closed loop; UDP stream: datagrams/s in all, 0 = as fast as they go", kNoBound, 10000000),
      field<N>("arrival", &N::arrival, "open loop: spacing of requests", "uniform|poisson"),
      field<N>("backend", &N::backend, "socket I/O: blocking system calls or io_uring", "blocking|io_uring"),
      // How the client waits for its send times, not what it offers: a spinning client against a
      // sleeping one is the same workload, its cost a host-CPU change the gate must see.
      run_setting(field<N>("spin", &N::spin, "open loop, paced UDP stream: the sender spins until each send time instead of sleeping (a poll-mode client: the same rate for a core's CPU)")),
      field<N>("busy_poll", "uint", &N::busy_poll, "SO_BUSY_POLL microseconds on each socket, 0 off", kNoBound, 2147483647),
      field<N>("verify", &N::verify, "rr: compare every echoed byte with what was sent"),
      run_setting(field<N>("timeout", "duration", &N::timeout, "connect and per-message timeout", 1000000)),
      run_setting(field<N>("seed", "uint", &N::seed, "seed of payloads and Poisson arrivals")),
      run_setting(field<N>("clock", &N::clock, "timestamp source: the monotonic clock, the CPU's counter (tsc on x86-64, cntvct on arm64), or auto", "monotonic|tsc|cntvct|auto")),
      field<N>("cpu", &N::cpu, "pin the measuring thread(s) to this CPU (-1: no pinning); --cpus N says the same", -1, 4095),
      field<N>("cpus", &N::cpus, "rr, stream: pin client thread i (a connection or stream) to the i-th CPU of this list, round robin; serve: the server's threads run on these CPUs; auto: the lower half of the CPUs this process may use for a client, the upper half for a server"),
      field<N>("server_cpus", &N::server_cpus, "rr, stream with an echo server of isoprobe's own (--loopback, or the one isoprobe starts): the CPUs its threads run on, or auto"),
      field<N>("stall_after", "uint", &N::stall_after, "serve, for tests: stall once after this many echoes, 0 never"),
      field<N>("stall", "duration", &N::stall, "serve, for tests: length of that stall"),
      field<N>("service", "duration", &N::service, "serve, for tests: a planted service time, spent before every reply; 0 none"),
      field<N>("drop_every", "uint", &N::drop_every, "serve, for tests: discard every Nth measured datagram of each UDP stream uncounted (a known loss), 0 never"),
  });
  return t;
}

}  // namespace

const std::vector<OptionSpec>& net_option_specs() {
  static const std::vector<OptionSpec> specs = specs_of(table());
  return specs;
}

std::string net_option_table_json() { return option_table_json(table()); }

void write_net_options_json(JsonWriter& w, const NetOptions& o) {
  w.begin_object();
  w.kv("mode", o.mode);  // chosen by the command (net serve|rr|stream), not a flag
  write_option_fields(w, table(), o);
  w.end_object();
}

std::string net_kind(const NetOptions& o) {
  const NetKind* k = net_kind_of(o.mode, o.proto);
  return k ? k->name : "";
}

int apply_net_kind_defaults(NetOptions* o, const std::vector<std::string>& given, Error* e) {
  return apply_kind_defaults(table(), o, net_kind(*o), given, e);
}

int set_net_option(NetOptions* o, const std::string& name, const std::string& value, Error* e) {
  return set_option(table(), o, name, value, e);
}

int validate_net_options(const NetOptions& o, Error* e, bool own_server) {
  std::string why;
  SockAddr a;
  const bool serve = o.mode == "serve";
  const NetKind* kind = net_kind_of(o.mode, o.proto);
  bool known_mode = serve;
  for (auto* k : net_kind_registry()) known_mode = known_mode || o.mode == k->mode;
  if (!known_mode)
    return option_error(e, "mode", "net mode \"" + o.mode + "\": expected serve, " + net_kind_modes());
  // A struct filled in C++ has not been through the setter: the table checks its enums and bounds.
  if (check_table(table(), o, e) < 0) return -EINVAL;
  if (!serve && !kind) return option_error(e, "proto", "--proto " + o.proto + ": no workload kind measures net " + o.mode + " over it");
  if (o.spin && (serve || !kind->paced || !o.rate))
    return option_error(e, "spin", "--spin: applies to an open-loop rr or a paced UDP stream (--rate N), where the sender waits for each send time");
  if (o.mode == "serve") {
    if (!parse_addr(o.bind, &a, true, &why)) return option_error(e, "bind", "--bind \"" + o.bind + "\": " + why);
  } else {
    if (own_server) {
      if (!o.connect.empty()) return option_error(e, "loopback", "--loopback starts its own server: give either --loopback or --connect");
    } else if (o.connect.empty()) {
      return option_error(e, "connect", "--connect: expected the server's ADDR:PORT");
    } else if (!parse_addr(o.connect, &a, false, &why)) return option_error(e, "connect", "--connect \"" + o.connect + "\": " + why);
  }
  // The kind's own checks (a UDP stream's header, open-loop rr's sizes) come before the protocol's.
  if (kind && kind->validate && kind->validate(o, e) < 0) return -EINVAL;
  if (o.proto == "udp" && o.size > 65507) return option_error(e, "size", "--size " + std::to_string(o.size) + ": expected at most 65507 bytes for UDP");
  if (o.proto == "udp" && o.size < 8) return option_error(e, "size", "--size " + std::to_string(o.size) + ": UDP messages carry an 8-byte sequence number; expected at least 8");
  if (!serve && o.duration == 0) return option_error(e, "duration", "--duration 0: expected a positive time");
  if (o.backend == "io_uring" && (!kind || !kind->io_uring || o.rate))
    return option_error(e, "backend", "--backend io_uring: implemented for closed-loop TCP rr; use blocking here");
  std::vector<int> cpus;
  if (placement_cpus(o.cpus, o.cpu, &cpus, e, o.mode == "serve" ? PlaceRole::Server : PlaceRole::Client) < 0) return -EINVAL;
  std::string why_list;
  if (!o.server_cpus.empty() && o.server_cpus != "auto" && !parse_cpu_list(o.server_cpus, &cpus, &why_list))
    return option_error(e, "server_cpus", "--server-cpus " + o.server_cpus + ": " + why_list);
  if (!o.server_cpus.empty() && o.mode == "serve") return option_error(e, "server_cpus", "--server-cpus: a client option; the server itself takes --cpus");
  if ((o.stall_after || o.stall) && o.mode != "serve") return option_error(e, "stall", "--stall/--stall-after: server options (net serve)");
  if (o.service && o.mode != "serve") return option_error(e, "service", "--service: a server option (net serve)");
  if (o.drop_every && o.mode != "serve") return option_error(e, "drop_every", "--drop-every: a server option (net serve)");
  return 0;
}

}  // namespace isoprobe
