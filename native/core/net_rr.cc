// Request/response loops: closed loop over TCP or UDP with blocking calls, closed-loop TCP through
// io_uring, and open-loop TCP timed from each request's intended send time; the tcp_rr and udp_rr
// kinds' entries (net_kind.h) with their checks and result members.
#include <liburing.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <thread>

#include "clock.h"
#include "json.h"
#include "net_loop.h"

namespace isoprobe {
namespace netloop {

namespace {

// Accounts one closed-loop transaction that started at t0 and ended at t1.
void record_tx(Shared& sh, PerThread& pt, uint64_t t0, uint64_t t1, const std::vector<char>& out, const char* in, size_t got) {
  if (t0 < sh.t_measure) {
    pt.warm_tx++;
    return;
  }
  pt.lat.record(t1 - t0);
  pt.tx++;
  pt.tick(t0, sh.t_measure, out.size());
  if (sh.o.verify && (got != out.size() || std::memcmp(in, out.data(), out.size()) != 0)) pt.mismatches++;
}

// Closed loop over TCP or UDP with blocking calls: send, wait for the whole echo, repeat.
}  // namespace

void rr_closed(Shared& sh, int fd, PerThread& pt, uint64_t seed, double) {
  const NetOptions& o = sh.o;
  bool udp = o.proto == "udp";
  std::vector<char> out(o.size), in(o.size);
  fill_payload(out, seed);
  Error e;
  int err = 0;
  measured(sh, pt, [&] {
    uint64_t seq = 0;
    while (!sh.stop_now()) {
      if (o.size >= 8) std::memcpy(out.data(), &++seq, 8);
      uint64_t t0 = now_ns();
      if (t0 >= sh.t_end) break;
      bool ok, lost = false;
      if (udp) {
        ok = send(fd, out.data(), out.size(), 0) == ssize_t(out.size());
        if (!ok) err = errno;
        while (ok) {
          ssize_t k = recv(fd, in.data(), in.size(), 0);
          if (k < 0 && errno == EINTR) continue;
          if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {  // a lost request or reply
            if (t0 >= sh.t_measure) pt.lost++;
            lost = true;
            break;
          }
          if (k < 0) { ok = false; err = errno; break; }
          uint64_t got;
          std::memcpy(&got, in.data(), 8);
          if (got != seq) { pt.late++; continue; }  // a reply that came after its timeout
          record_tx(sh, pt, t0, now_ns(), out, in.data(), size_t(k));
          break;
        }
      } else {
        ok = send_all(fd, out.data(), out.size(), &err) && recv_all(fd, in.data(), in.size(), &err);
        if (ok) record_tx(sh, pt, t0, now_ns(), out, in.data(), in.size());
      }
      if (!ok) {
        if (sh.stop_now()) break;
        io_fail(sh, &e, err, udp ? "send/recv" : err == 0 || err == EAGAIN ? "recv" : "send/recv", pt.tx + pt.warm_tx);
        sh.fail(e);
        break;
      }
      pt.sent += out.size();
      if (!lost) pt.recvd += out.size();
    }
  });
}

// Closed-loop TCP through io_uring: send and recv linked in one submission, one system call
// per transaction.
void rr_uring(Shared& sh, int fd, PerThread& pt, uint64_t seed, double) {
  const NetOptions& o = sh.o;
  std::vector<char> out(o.size), in(o.size);
  fill_payload(out, seed);
  Error e;
  io_uring ring;
  int rc = io_uring_queue_init(4, &ring, 0);
  if (rc < 0) {
    sys_error(&e, -rc, "io_uring_setup", "--backend io_uring: cannot create a ring" + (rc == -ENOSYS ? ": " + io_uring_enosys_reason() : std::string()));
    sh.fail(e);
    wait_go(sh);
    return;
  }
  measured(sh, pt, [&] {
    __kernel_timespec ts{int64_t(o.timeout / 1000000000ull), int64_t(o.timeout % 1000000000ull)};
    uint64_t seq = 0;
    while (!sh.stop_now()) {
      if (o.size >= 8) std::memcpy(out.data(), &++seq, 8);
      uint64_t t0 = now_ns();
      if (t0 >= sh.t_end) break;
      io_uring_sqe* s1 = io_uring_get_sqe(&ring);
      io_uring_prep_send(s1, fd, out.data(), out.size(), MSG_NOSIGNAL);
      s1->flags |= IOSQE_IO_LINK;
      io_uring_sqe* s2 = io_uring_get_sqe(&ring);
      io_uring_prep_recv(s2, fd, in.data(), in.size(), MSG_WAITALL);
      io_uring_cqe* cqe = nullptr;
      rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 2, &ts, nullptr);
      int results[2] = {INT32_MIN, INT32_MIN};
      unsigned seen = 0;
      while (seen < 2 && io_uring_peek_cqe(&ring, &cqe) == 0) {
        results[seen++] = cqe->res;
        io_uring_cqe_seen(&ring, cqe);
      }
      uint64_t t1 = now_ns();
      int err = 0;
      if (rc == -ETIME || seen < 2) err = EAGAIN;
      else if (results[0] < 0) err = -results[0];
      else if (results[1] < 0) err = -results[1];
      else if (size_t(results[1]) != in.size()) err = results[1] == 0 ? 0 : EIO;
      if (rc < 0 && rc != -ETIME && !err) err = -rc;
      if (err || (seen == 2 && results[1] == 0)) {
        if (sh.stop_now()) break;
        io_fail(sh, &e, err, "io_uring recv", pt.tx + pt.warm_tx);
        sh.fail(e);
        break;
      }
      record_tx(sh, pt, t0, t1, out, in.data(), in.size());
      pt.sent += out.size();
      pt.recvd += out.size();
    }
  });
  io_uring_queue_exit(&ring);
}

// Open loop: a sender keeps the schedule whatever the replies do; a receiver takes each echo's
// latency from the intended send time written into it, so a stall shows as latency. Long on
// purpose: the sender and the receiver share their schedule state and are read best together.
void rr_open(Shared& sh, int fd, PerThread& pt, uint64_t seed, double rate) {
  const NetOptions& o = sh.o;
  std::vector<char> out(o.size);
  fill_payload(out, seed);
  std::atomic<uint64_t> sent_count{0}, got{0};
  std::atomic<bool> sender_done{false}, drain_timed_out{false};
  Error e;
  measured(sh, pt, [&] {
    std::thread receiver([&] {
      std::vector<char> in(o.size);
      int err = 0;
      while (!sh.stop_now()) {
        if (sender_done.load() && got.load() >= sent_count.load()) break;
        if (!recv_all(fd, in.data(), in.size(), &err)) {
          if (sh.stop_now() || (sender_done.load() && got.load() >= sent_count.load())) break;
          Error re;
          if (drain_timed_out.load())
            sys_error(&re, ETIMEDOUT, "recv", std::to_string(sent_count.load() - got.load()) + " replies from " + o.connect +
                                                  " still missing --timeout " + secs(o.timeout) + " after the last request");
          else
            io_fail(sh, &re, err, "recv", got.load());
          sh.fail(re);
          break;
        }
        uint64_t t1 = now_ns();
        uint64_t seq, intended;
        std::memcpy(&seq, in.data(), 8);
        std::memcpy(&intended, in.data() + 8, 8);
        got.fetch_add(1);
        if (t1 >= sh.t_measure && t1 < sh.t_end) pt.served++;
        if (intended >= sh.t_measure && intended < sh.t_end) {
          pt.lat.record(t1 - intended);
          pt.tx++;
          pt.tick(intended, sh.t_measure, in.size());
          if (o.verify && std::memcmp(in.data() + 16, out.data() + 16, in.size() - 16) != 0) pt.mismatches++;
        }
        pt.recvd += in.size();
      }
    });
    uint64_t x = seed | 1;
    double next = double(sh.t_start);
    uint64_t seq = 0;
    int err = 0;
    while (!sh.stop_now()) {
      double gap = 1e9 / rate;
      if (o.arrival == "poisson") {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        double u = (double(x >> 11) + 0.5) / 9007199254740992.0;
        gap = -std::log(u) * 1e9 / rate;
      }
      uint64_t intended = uint64_t(next);
      next += gap;
      if (intended >= sh.t_end) break;
      if (o.spin) while (now_ns() < intended && !sh.stop_now()) {}
      else sleep_until(intended);
      uint64_t now = now_ns();
      if (intended >= sh.t_measure) {
        pt.intended++;
        pt.lag.record(now - intended);
        if (now - intended > 1000000ull) pt.sent_late++;  // more than 1 ms behind the schedule
      }
      ++seq;
      std::memcpy(out.data(), &seq, 8);
      std::memcpy(out.data() + 8, &intended, 8);
      if (!send_all(fd, out.data(), out.size(), &err)) {
        if (!sh.stop_now()) {
          io_fail(sh, &e, err, "send", seq - 1);
          sh.fail(e);
        }
        break;
      }
      sent_count++;
      pt.sent += out.size();
    }
    sender_done = true;
    // The receiver drains the replies still in flight, bounded by the timeout.
    uint64_t deadline = now_ns() + o.timeout;
    while (now_ns() < deadline && got.load() < sent_count.load() && !sh.stop_now()) {
      timespec ts{0, 1000000};
      nanosleep(&ts, nullptr);
    }
    if (got.load() < sent_count.load()) drain_timed_out = true;
    shutdown(fd, SHUT_RDWR);  // wakes the receiver whether or not it has everything
    receiver.join();
  });
}

namespace {

// tcp_rr picks its loop by the options: open loop at a --rate, else closed, through io_uring or not.
void rr_loop(Shared& sh, int fd, PerThread& pt, uint64_t seed, double rate) {
  if (sh.o.rate) return rr_open(sh, fd, pt, seed, rate);
  if (sh.o.backend == "io_uring") return rr_uring(sh, fd, pt, seed, rate);
  rr_closed(sh, fd, pt, seed, rate);
}

// A request/response result's own members: its rate and latency distribution, and the open
// loop's schedule. The counts are the common result's (every rr loop fills the histograms).
class RrPart : public NetKindPart {
 public:
  void merge(const NetKindPart&, const PerThread&, const NetOptions&) override {}
  void write_head(JsonWriter& w, const NetResult& r) const override {
    w.kv("latency_definition", r.options.rate ? "full round trip, from the intended send time to the last echoed byte"
                                               : "full round trip, from the send call to the last echoed byte");
  }
  void write_json(JsonWriter& w, const NetResult& r, double secs) const override {
    w.kv("tps", secs > 0 ? double(r.transactions) / secs : 0.0);
    w.key("latency_ns");
    r.lat.write_json(w);
    if (!r.options.rate) return;
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
  const char* cpu_per_name() const override { return "per_transaction_ns"; }
  uint64_t cpu_ops(const NetResult& r) const override { return r.transactions; }
};

std::unique_ptr<NetKindPart> make_rr_part() { return std::make_unique<RrPart>(); }

// Open loop writes its sequence and intended send time into each message; over UDP it is not built.
int validate_rr(const NetOptions& o, Error* e) {
  if (o.rate && o.size < 16) return option_error(e, "size", "--size " + std::to_string(o.size) + ": open-loop messages carry their sequence and intended send time; expected at least 16");
  if (o.rate && o.proto == "udp") return option_error(e, "rate", "--rate: open-loop rr is TCP only for now");
  return 0;
}

}  // namespace
}  // namespace netloop

extern const NetKind kTcpRrKind = {"tcp_rr", "rr", "tcp", true, true, &NetOptions::conns, "", netloop::validate_rr, netloop::rr_loop, netloop::make_rr_part};
extern const NetKind kUdpRrKind = {"udp_rr", "rr", "udp", true, false, &NetOptions::conns, "", netloop::validate_rr, netloop::rr_closed, netloop::make_rr_part};

}  // namespace isoprobe
