// The table of network options, their textual parsing and cross-field validation.
#include "net_options.h"

#include "net_addr.h"

namespace isoprobe {

const std::vector<OptionSpec>& net_option_specs() {
  static const std::vector<OptionSpec> specs = {
      {"proto", "enum", "tcp|udp", "transport (default tcp)"},
      {"connect", "string", "", "server ADDR:PORT for rr and stream (required there)"},
      {"bind", "string", "", "serve: listen on ADDR:PORT, port 0 picks one (default 127.0.0.1:0)"},
      {"size", "size", "", "message size (default 64; stream 128k)"},
      {"duration", "duration", "", "measured time; serve: how long to serve, 0 until stopped (default 5s)"},
      {"warmup", "duration", "", "warm-up, excluded from results (default 1s)"},
      {"conns", "uint", "", "rr: connections, one thread each (default 1)"},
      {"streams", "uint", "", "stream: parallel streams (default 1)"},
      {"reverse", "bool", "", "stream: the server sends and the client receives (default off)"},
      {"rate", "uint", "", "rr: open loop at this many requests/s in all, latency from the intended send time; 0 = closed loop (default 0)"},
      {"arrival", "enum", "uniform|poisson", "open loop: spacing of requests (default uniform)"},
      {"backend", "enum", "blocking|io_uring", "socket I/O: blocking system calls or io_uring (default blocking)"},
      {"busy_poll", "uint", "", "SO_BUSY_POLL microseconds on each socket, 0 off (default 0)"},
      {"verify", "bool", "", "rr: compare every echoed byte with what was sent (default on)"},
      {"timeout", "duration", "", "connect and per-message timeout (default 5s)"},
      {"seed", "uint", "", "seed of payloads and Poisson arrivals (default 1)"},
      {"clock", "enum", "monotonic|tsc|auto", "timestamp source (default monotonic)"},
      {"cpu", "int", "", "pin the measuring thread(s) to this CPU (default -1: no pinning)"},
      {"stall_after", "uint", "", "serve, for tests: stall once after this many echoes, 0 never (default 0)"},
      {"stall", "duration", "", "serve, for tests: length of that stall (default 0)"},
  };
  return specs;
}

int set_net_option(NetOptions* o, const std::string& name, const std::string& value, Error* e) {
  const OptionSpec* spec;
  OptionValue v;
  int rc = parse_option_value(net_option_specs(), name, value, {"rate", "seed", "stall_after"}, &spec, &v, e);
  if (rc < 0) return rc;
  uint64_t u = v.u;
  bool b = v.b;
  if (name == "proto") o->proto = value;
  else if (name == "connect") o->connect = value;
  else if (name == "bind") o->bind = value;
  else if (name == "size") o->size = u;
  else if (name == "duration") o->duration = u;
  else if (name == "warmup") o->warmup = u;
  else if (name == "conns") o->conns = uint32_t(u);
  else if (name == "streams") o->streams = uint32_t(u);
  else if (name == "reverse") o->reverse = b;
  else if (name == "rate") o->rate = u;
  else if (name == "arrival") o->arrival = value;
  else if (name == "backend") o->backend = value;
  else if (name == "busy_poll") o->busy_poll = uint32_t(u);
  else if (name == "verify") o->verify = b;
  else if (name == "timeout") o->timeout = u;
  else if (name == "seed") o->seed = u;
  else if (name == "clock") o->clock = value;
  else if (name == "cpu") o->cpu = int32_t(v.negative ? -int64_t(u) : int64_t(u));
  else if (name == "stall_after") o->stall_after = u;
  else if (name == "stall") o->stall = u;
  return 0;
}

int validate_net_options(const NetOptions& o, Error* e) {
  std::string why;
  SockAddr a;
  if (o.mode != "serve" && o.mode != "rr" && o.mode != "stream")
    return option_error(e, "mode", "net mode \"" + o.mode + "\": expected serve, rr or stream");
  if (o.proto != "tcp" && o.proto != "udp") return option_error(e, "proto", "--proto \"" + o.proto + "\": expected one of tcp,udp");
  if (o.mode == "serve") {
    if (!parse_addr(o.bind, &a, true, &why)) return option_error(e, "bind", "--bind \"" + o.bind + "\": " + why);
  } else {
    if (o.connect.empty()) return option_error(e, "connect", "--connect: expected the server's ADDR:PORT");
    if (!parse_addr(o.connect, &a, false, &why)) return option_error(e, "connect", "--connect \"" + o.connect + "\": " + why);
  }
  if (o.mode == "stream" && o.proto == "udp") return option_error(e, "proto", "--proto udp: stream mode is TCP only");
  if (o.size == 0 || o.size > (16ull << 20)) return option_error(e, "size", "--size " + std::to_string(o.size) + ": expected a message size from 1 byte to 16M");
  if (o.proto == "udp" && o.size > 65507) return option_error(e, "size", "--size " + std::to_string(o.size) + ": expected at most 65507 bytes for UDP");
  if (o.proto == "udp" && o.size < 8) return option_error(e, "size", "--size " + std::to_string(o.size) + ": UDP messages carry an 8-byte sequence number; expected at least 8");
  if (o.rate && o.size < 16) return option_error(e, "size", "--size " + std::to_string(o.size) + ": open-loop messages carry their sequence and intended send time; expected at least 16");
  if (o.rate && o.proto == "udp") return option_error(e, "rate", "--rate: open loop is TCP only for now");
  if (o.mode != "serve" && o.duration == 0) return option_error(e, "duration", "--duration 0: expected a positive time");
  if (o.conns == 0 || o.conns > 256) return option_error(e, "conns", "--conns " + std::to_string(o.conns) + ": expected from 1 to 256");
  if (o.streams == 0 || o.streams > 256) return option_error(e, "streams", "--streams " + std::to_string(o.streams) + ": expected from 1 to 256");
  if (o.timeout < 1000000ull) return option_error(e, "timeout", "--timeout " + std::to_string(o.timeout) + "ns: expected at least 1ms");
  if (o.rate > 10000000ull) return option_error(e, "rate", "--rate " + std::to_string(o.rate) + ": expected at most 10000000 requests/s");
  if (o.backend == "io_uring" && (o.mode != "rr" || o.proto != "tcp" || o.rate))
    return option_error(e, "backend", "--backend io_uring: implemented for closed-loop TCP rr; use blocking here");
  if (o.backend != "blocking" && o.backend != "io_uring") return option_error(e, "backend", "--backend \"" + o.backend + "\": expected one of blocking,io_uring");
  if (o.arrival != "uniform" && o.arrival != "poisson") return option_error(e, "arrival", "--arrival \"" + o.arrival + "\": expected one of uniform,poisson");
  if (o.clock != "monotonic" && o.clock != "tsc" && o.clock != "auto") return option_error(e, "clock", "--clock \"" + o.clock + "\": expected one of monotonic,tsc,auto");
  if (o.cpu < -1 || o.cpu > 4095) return option_error(e, "cpu", "--cpu " + std::to_string(o.cpu) + ": expected a CPU number, or -1 for no pinning");
  if ((o.stall_after || o.stall) && o.mode != "serve") return option_error(e, "stall", "--stall/--stall-after: server options (net serve)");
  return 0;
}

}  // namespace isoprobe
