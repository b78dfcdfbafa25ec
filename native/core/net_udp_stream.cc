// UDP streams: datagrams of --size at --rate (or as fast as the socket takes them), one way, from
// the client to the server; the server counts them (net_server.cc) and reports on request. The
// udp_stream kind's entry: its checks, and its result members from the receiver's counts.
#include "net_udp_stream.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "clock.h"
#include "json.h"
#include "net_loop.h"

namespace isoprobe {

bool read_udp_header(const char* p, size_t n, UdpStreamHeader* h) {
  if (n < kUdpStreamHeader || std::memcmp(p, kUdpStreamMagic, 8) != 0) return false;
  std::memcpy(&h->type, p + 8, 4);
  std::memcpy(&h->seq, p + 16, 8);
  std::memcpy(&h->send_ns, p + 24, 8);
  return h->type >= kUdpWarm && h->type <= kUdpReport;
}

void write_udp_header(char* p, const UdpStreamHeader& h) {
  std::memcpy(p, kUdpStreamMagic, 8);
  std::memcpy(p + 8, &h.type, 4);
  std::memset(p + 12, 0, 4);
  std::memcpy(p + 16, &h.seq, 8);
  std::memcpy(p + 24, &h.send_ns, 8);
}

void UdpStreamReceiver::on_data(const UdpStreamHeader& h, uint64_t arrival_ns, uint64_t drop_every) {
  if (drop_every && ++arrivals % drop_every == 0) {
    r.dropped++;
    return;
  }
  r.received++;
  if (h.seq < max_seq) r.out_of_order++;
  else max_seq = h.seq;
  jitter.arrive(h.send_ns, arrival_ns);
  r.jitter_ns = jitter.j;
}

size_t write_udp_report(char* p, const UdpStreamReport& r) {
  UdpStreamHeader h;
  h.type = kUdpReport;
  write_udp_header(p, h);
  std::memcpy(p + kUdpStreamHeader, &r.received, 8);
  std::memcpy(p + kUdpStreamHeader + 8, &r.out_of_order, 8);
  std::memcpy(p + kUdpStreamHeader + 16, &r.dropped, 8);
  std::memcpy(p + kUdpStreamHeader + 24, &r.jitter_ns, 8);
  return kUdpReportSize;
}

bool read_udp_report(const char* p, size_t n, UdpStreamReport* r) {
  UdpStreamHeader h;
  if (n < kUdpReportSize || !read_udp_header(p, n, &h) || h.type != kUdpReport) return false;
  std::memcpy(&r->received, p + kUdpStreamHeader, 8);
  std::memcpy(&r->out_of_order, p + kUdpStreamHeader + 8, 8);
  std::memcpy(&r->dropped, p + kUdpStreamHeader + 16, 8);
  std::memcpy(&r->jitter_ns, p + kUdpStreamHeader + 24, 8);
  r->reported = true;
  return true;
}

double rfc3550_jitter(const uint64_t* send_ns, const uint64_t* arrival_ns, size_t n) {
  Rfc3550Jitter j;
  for (size_t i = 0; i < n; i++) j.arrive(send_ns[i], arrival_ns[i]);
  return j.j;
}

namespace netloop {

namespace {

// After the last datagram: asks the receiver for its counts, again every 100 ms (a lost ask or
// report), until --timeout. Datagrams still in flight land before the first ask is read.
int ask_report(Shared& sh, int fd, UdpStreamReport* report, Error* e) {
  char ask[kUdpStreamHeader], in[kUdpReportSize + 64];
  UdpStreamHeader h;
  h.type = kUdpAsk;
  write_udp_header(ask, h);
  uint64_t deadline = now_ns() + sh.o.timeout;
  timespec settle{0, 10000000};
  nanosleep(&settle, nullptr);
  while (!sh.stop_now() && now_ns() < deadline) {
    if (send(fd, ask, sizeof ask, 0) < 0 && errno != EINTR && errno != ENOBUFS)
      return sys_error(e, errno, "send", "asking " + sh.o.connect + " for its UDP stream report");
    uint64_t until = std::min<uint64_t>(deadline, now_ns() + 100000000ull);
    for (uint64_t now = now_ns(); now < until; now = now_ns()) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, int((until - now) / 1000000ull) + 1) <= 0) continue;
      ssize_t k = recv(fd, in, sizeof in, MSG_DONTWAIT);
      if (k > 0 && read_udp_report(in, size_t(k), report)) return 0;
    }
  }
  if (sh.stop_now()) return 0;
  return sys_error(e, ETIMEDOUT, "recv", "no UDP stream report from " + sh.o.connect + " within --timeout " + secs(sh.o.timeout) +
                                            ": the receiver must be isoprobe's server (net serve --proto udp)");
}

}  // namespace

namespace {

// Sleeps to `t` (now_ns() time) without spinning: at tens of thousands of datagrams a second a
// spinning sender would hold a CPU the receiver needs where both share a machine. The kernel's
// wake-up slack makes small bursts; the schedule, not the wake-up, gives each datagram its slot.
void nap_to(uint64_t t) {
  uint64_t now = now_ns();
  if (t <= now) return;
  timespec ts{time_t((t - now) / 1000000000ull), long((t - now) % 1000000000ull)};
  nanosleep(&ts, nullptr);
}

}  // namespace

// The sender's counts of one stream and, once reported, the receiver's; merged: every stream's.
class UdpStreamPart : public NetKindPart {
 public:
  UdpStreamReport mine;
  std::vector<UdpStreamReport> streams;
  void merge(const NetKindPart& thread, const PerThread&, const NetOptions&) override {
    streams.push_back(static_cast<const UdpStreamPart&>(thread).mine);
  }
  void write_json(JsonWriter& w, const NetResult& r, double secs) const override;
  const char* cpu_per_name() const override { return "per_byte_ns"; }
  uint64_t cpu_ops(const NetResult& r) const override { return r.options.reverse ? r.bytes_received : r.bytes_sent; }
};

// Paced from intended send times when rate > 0 (a late sender catches up, so the count of a
// window is the schedule's), else as fast as the blocking socket takes datagrams.
void udp_stream(Shared& sh, int fd, PerThread& pt, uint64_t seed, double rate) {
  const NetOptions& o = sh.o;
  UdpStreamReport& udp = part_as<UdpStreamPart>(pt.part.get()).mine;
  std::vector<char> buf(o.size);
  fill_payload(buf, seed);
  Error e;
  measured(sh, pt, [&] {
    double next = double(sh.t_start), gap = rate > 0 ? 1e9 / rate : 0;
    UdpStreamHeader h;
    while (!sh.stop_now()) {
      uint64_t t = now_ns();
      if (rate > 0) {
        uint64_t intended = uint64_t(next);
        next += gap;
        if (intended >= sh.t_end) break;
        if (intended > t) o.spin ? sleep_until(intended) : nap_to(intended);
        t = intended;
      } else if (t >= sh.t_end) {
        break;
      }
      bool measured = t >= sh.t_measure;
      h.type = measured ? kUdpData : kUdpWarm;
      h.seq++;
      h.send_ns = now_ns();
      write_udp_header(buf.data(), h);
      ssize_t k = send(fd, buf.data(), buf.size(), 0);
      if (k < 0 && (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)) continue;  // not sent: not counted
      if (k < 0) {
        if (!sh.stop_now()) { io_fail(sh, &e, errno, "send", udp.sent + udp.warm_sent); sh.fail(e); }
        break;
      }
      if (!measured) { udp.warm_sent++; continue; }
      udp.sent++;
      pt.sent += uint64_t(k);
      pt.tx++;
      pt.tick(t, sh.t_measure, uint64_t(k));
    }
  });
  if (!sh.failed && ask_report(sh, fd, &udp, &e) < 0) sh.fail(e);
}

// A UDP stream: what the senders sent in the window and what the receiver counted of it.
void UdpStreamPart::write_json(JsonWriter& w, const NetResult& r, double secs) const {
  UdpStreamReport all;
  double jitter = 0;
  for (auto& s : streams) {
    all.sent += s.sent;
    all.warm_sent += s.warm_sent;
    all.received += s.received;
    all.out_of_order += s.out_of_order;
    all.dropped += s.dropped;
    jitter += s.jitter_ns / double(streams.size());
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
  for (auto& s : streams) {
    w.begin_object();
    write(s, s.jitter_ns);
    w.end_object();
  }
  w.end_array();
  w.end_object();
}

namespace {

std::unique_ptr<NetKindPart> make_udp_stream_part() { return std::make_unique<UdpStreamPart>(); }

// The stream flows one way, to the receiver that counts it; each datagram carries the header.
int validate_udp_stream(const NetOptions& o, Error* e) {
  if (o.reverse) return option_error(e, "reverse", "--reverse: a UDP stream flows from the client to the server, whose counts it reports; run the client on the other side instead");
  if (o.size < kUdpStreamHeader)
    return option_error(e, "size", "--size " + std::to_string(o.size) + ": UDP stream datagrams carry a " + std::to_string(kUdpStreamHeader) + "-byte header; expected at least " + std::to_string(kUdpStreamHeader));
  return 0;
}

}  // namespace
}  // namespace netloop

// Its size by default: one 1500-byte MTU's payload (1472 bytes of UDP over IPv4).
extern const NetKind kUdpStreamKind = {"udp_stream", "stream", "udp", true, false, &NetOptions::streams, "size=1472", netloop::validate_udp_stream, netloop::udp_stream, netloop::make_udp_stream_part};

}  // namespace isoprobe
