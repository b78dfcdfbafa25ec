// Options of a network workload (echo server, request/response, stream): one flat struct.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "block_options.h"  // OptionSpec
#include "error.h"

namespace isoprobe {

struct NetOptions {
  std::string mode = "rr";          // serve | rr | stream (tcp or udp)
  std::string proto = "tcp";        // tcp | udp
  std::string connect;              // ADDR:PORT of the server (rr, stream)
  std::string bind = "127.0.0.1:0"; // serve: where to listen
  uint64_t size = 64;               // message size in bytes
  uint64_t duration = 5000000000ull;
  uint64_t warmup = 1000000000ull;
  uint32_t conns = 1;               // rr: connections, one thread each
  uint32_t streams = 1;             // stream: parallel streams
  bool reverse = false;             // stream: server sends, client receives
  uint64_t rate = 0;                // rr: requests per second in all; 0 = closed loop
  std::string arrival = "uniform";  // open loop: uniform | poisson
  std::string backend = "blocking"; // blocking | io_uring
  bool spin = false;                // open loop: spin to each send time, never sleep
  uint32_t busy_poll = 0;           // SO_BUSY_POLL in microseconds (0: off)
  bool verify = true;               // rr: compare every echoed byte
  uint64_t timeout = 5000000000ull; // connect and per-message timeout
  uint64_t seed = 1;
  std::string clock = "monotonic";
  int32_t cpu = -1;
  std::string cpus;                 // rr/stream: client thread i on the i-th CPU; serve: the server's CPUs
  std::string server_cpus;          // --loopback: the CPUs of the probe's own echo server
  // serve: test hook, sleep this long once after this many echoes (0: never) to make a stall
  uint64_t stall_after = 0;
  uint64_t stall = 0;
  // serve: a planted service time, waited before every reply (detection-power checks; 0: none)
  uint64_t service = 0;
  // serve, test hook: discard every Nth measured datagram of each UDP stream uncounted (0: never)
  uint64_t drop_every = 0;
};

const std::vector<OptionSpec>& net_option_specs();
std::string net_option_table_json();
class JsonWriter;
void write_net_options_json(JsonWriter& w, const NetOptions& o);
// What a client's result measures: the name of the kind its mode and protocol register (net_kind.h), "" for none.
std::string net_kind(const NetOptions& o);
int set_net_option(NetOptions* o, const std::string& name, const std::string& value, Error* e);
// The defaults that depend on the kind (a stream's size) for the options not among `given`.
int apply_net_kind_defaults(NetOptions* o, const std::vector<std::string>& given, Error* e);
// own_server: the client's echo server is this process's own on loopback (the probe's --loopback),
// so there is no --connect yet and none may be given.
int validate_net_options(const NetOptions& o, Error* e, bool own_server = false);

}  // namespace isoprobe
