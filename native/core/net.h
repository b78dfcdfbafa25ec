// The network probe: an echo server, request/response (closed and open loop), and streams.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "histogram.h"
#include "thread_util.h"
#include "net_addr.h"
#include "net_kind.h"
#include "net_options.h"
#include "result.h"

namespace isoprobe {

// First bytes a stream client sends: the server then sinks or sources instead of echoing.
constexpr char kNetMagic[8] = {'I', 'S', 'O', 'P', 'N', 'E', 'T', '1'};
enum NetStreamMode : uint32_t { kSink = 2, kSource = 3 };

class EchoServer {
 public:
  EchoServer();
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  // Binds and starts serving on threads of its own. Returns 0 or -errno with *e set.
  int start(const NetOptions& o, Error* e);
  void stop();
  const SockAddr& address() const { return addr_; }
  uint64_t connections() const;
  uint64_t echoed() const;
  // The CPUs its threads were pinned to (--cpus, resolved), empty when not pinned.
  const std::vector<int>& cpus() const { return cpus_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  SockAddr addr_;
  std::vector<int> cpus_;
};

struct NetResult {
  NetOptions options;
  std::string kind;  // net_kind(options): its NetKind's name
  std::string build;
  std::string peer;
  uint64_t transactions = 0, warmup_transactions = 0, elapsed_ns = 0;
  uint64_t bytes_sent = 0, bytes_received = 0;
  Histogram lat;
  std::vector<SeriesPoint> series;
  // open loop
  uint64_t intended = 0, sent_late = 0;
  uint64_t served = 0;  // open loop: replies that arrived inside the measured window
  Histogram lag;
  // faults counted, not fatal
  uint64_t mismatches = 0, lost = 0, late_replies = 0;
  // The kind's own counts (a stream's bytes, a UDP stream's receiver counts) and their JSON members.
  std::shared_ptr<const NetKindPart> part;
  uint64_t cpu_user_ns = 0, cpu_sys_ns = 0;  // from the start, warm-up included
  uint64_t cpu_window_ns = 0;                // over the measured window only (thread CPU clocks)
  uint64_t run_delay_ns = 0;                 // client threads' wait for a CPU over the window
  bool run_delay_known = true;
  std::vector<int> cpus_pinned;               // --cpus, as the client threads were pinned
  std::vector<int> server_pinned;             // --loopback: the probe's own echo server's CPUs
  CpusSeen ran_on;                            // where the client threads ran in the window
  ClockInfo clock;
  EnvInfo env;
};

int run_net(const NetOptions& o, const RunHooks& hooks, NetResult* r, Error* e);
std::string net_result_json(const NetResult& r);

}  // namespace isoprobe
