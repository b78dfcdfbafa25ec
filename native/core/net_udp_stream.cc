// UDP streams: datagrams of --size at --rate (or as fast as the socket takes them), one way, from
// the client to the server; the server counts them (net_server.cc) and reports on request.
#include "net_udp_stream.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "clock.h"
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
int ask_report(Shared& sh, int fd, PerThread& pt, Error* e) {
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
      if (k > 0 && read_udp_report(in, size_t(k), &pt.udp)) return 0;
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

// Paced from intended send times when rate > 0 (a late sender catches up, so the count of a
// window is the schedule's), else as fast as the blocking socket takes datagrams.
void udp_stream(Shared& sh, int fd, PerThread& pt, uint64_t seed, double rate) {
  const NetOptions& o = sh.o;
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
        if (!sh.stop_now()) { io_fail(sh, &e, errno, "send", pt.udp.sent + pt.udp.warm_sent); sh.fail(e); }
        break;
      }
      if (!measured) { pt.udp.warm_sent++; continue; }
      pt.udp.sent++;
      pt.sent += uint64_t(k);
      pt.tx++;
      pt.tick(t, sh.t_measure, uint64_t(k));
    }
  });
  if (!sh.failed && ask_report(sh, fd, pt, &e) < 0) sh.fail(e);
}

}  // namespace netloop
}  // namespace isoprobe
