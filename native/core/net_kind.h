// A network workload kind as the client knows it, declared in its own loop file (net_rr.cc,
// net_tcp_stream.cc, net_udp_stream.cc) and listed once in net_kinds.cc: its mode and protocol
// words, its own checks, its loop, and its part of the result with that part's JSON members.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "error.h"

namespace isoprobe {

struct NetOptions;
struct NetResult;
class JsonWriter;
namespace netloop {
struct Shared;
struct PerThread;
}  // namespace netloop

// A kind's own counts: one per thread while its loop runs (the loop fills it), then one in the
// result that merges them and writes the result's members only this kind has.
class NetKindPart {
 public:
  virtual ~NetKindPart() = default;
  // Folds in one thread's part after the threads ended (pt: the thread's common counts).
  virtual void merge(const NetKindPart& thread, const netloop::PerThread& pt, const NetOptions& o) = 0;
  // Members written before the common counts (transactions, bytes) ...
  virtual void write_head(JsonWriter& w, const NetResult& r) const {}
  // ... and after them: the kind's rate, its distribution or per-stream counts.
  virtual void write_json(JsonWriter& w, const NetResult& r, double secs) const = 0;
  // What host CPU is counted per: its name in cpu{} (per_transaction_ns) and the operations.
  virtual const char* cpu_per_name() const = 0;
  virtual uint64_t cpu_ops(const NetResult& r) const = 0;
};

// A thread's loop: seed of its payload, rate its share of --rate (0: closed loop, or a stream as
// fast as it goes). The kind's loop may pick among several by the options (rr: open, io_uring).
using NetLoop = void (*)(netloop::Shared& sh, int fd, netloop::PerThread& pt, uint64_t seed, double rate);

struct NetKind {
  const char* name;   // the result's kind: tcp_rr
  const char* mode;   // the probe's mode that measures it: rr | stream
  const char* proto;  // tcp | udp
  bool paced;         // --rate gives send times here (--spin applies to it)
  bool io_uring;      // --backend io_uring is implemented for its closed loop
  uint32_t NetOptions::*threads;  // --conns or --streams: that many sockets, a thread each
  // Its defaults where the option is not given, in the flags' own form, comma separated
  // ("size=128k"); the option table's by_kind rows carry them to the probe's CLI and TypeScript.
  const char* defaults;
  // Its own checks after the common ones (0 or -EINVAL with *e set); nullptr: none.
  int (*validate)(const NetOptions& o, Error* e);
  NetLoop loop;
  std::unique_ptr<NetKindPart> (*make_part)();
};

// Every kind, in the order of the result kinds; the kind a mode and protocol measure (nullptr: none).
const std::vector<const NetKind*>& net_kind_registry();
const NetKind* net_kind_of(const std::string& mode, const std::string& proto);
// [{"name","mode","proto"}...]: what the TypeScript side checks its kinds against.
std::string net_kinds_json();
// "rr or stream": the modes the kinds take, for error messages.
std::string net_kind_modes();

// The part a loop fills, as its kind's type.
template <class P>
P& part_as(NetKindPart* p) { return static_cast<P&>(*p); }

}  // namespace isoprobe
