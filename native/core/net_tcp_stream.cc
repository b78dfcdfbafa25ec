// A TCP stream: after a header saying which way, the client sends (or with --reverse receives)
// as fast as the connection takes it; bytes are counted at the client. The tcp_stream kind's entry.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "clock.h"
#include "json.h"
#include "net_loop.h"

namespace isoprobe {
namespace netloop {

void tcp_stream(Shared& sh, int fd, PerThread& pt, uint64_t, double) {
  const NetOptions& o = sh.o;
  std::vector<char> buf(o.size, 's');
  char hdr[16];
  std::memcpy(hdr, kNetMagic, 8);
  uint32_t mode = o.reverse ? kSource : kSink, size = uint32_t(o.size);
  std::memcpy(hdr + 8, &mode, 4);
  std::memcpy(hdr + 12, &size, 4);
  Error e;
  int err = 0;
  if (!send_all(fd, hdr, sizeof hdr, &err)) {
    io_fail(sh, &e, err, "send", 0);
    sh.fail(e);
  }
  measured(sh, pt, [&] {
    while (!sh.stop_now()) {
      uint64_t t = now_ns();
      if (t >= sh.t_end) break;
      ssize_t k = o.reverse ? recv(fd, buf.data(), buf.size(), 0) : send(fd, buf.data(), buf.size(), MSG_NOSIGNAL);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) {
        if (sh.stop_now()) break;
        io_fail(sh, &e, k == 0 ? 0 : errno, o.reverse ? "recv" : "send", 0);
        sh.fail(e);
        break;
      }
      uint64_t t1 = now_ns();
      if (t1 >= sh.t_measure && t1 < sh.t_end) {
        (o.reverse ? pt.recvd : pt.sent) += uint64_t(k);
        pt.tick(t1, sh.t_measure, uint64_t(k));
        pt.tx++;
      }
    }
  });
}

namespace {

// A TCP stream's own members: the rate, where bytes were counted, and each stream's bytes.
class TcpStreamPart : public NetKindPart {
 public:
  std::vector<uint64_t> stream_bytes;
  void merge(const NetKindPart&, const PerThread& pt, const NetOptions& o) override { stream_bytes.push_back(o.reverse ? pt.recvd : pt.sent); }
  void write_json(JsonWriter& w, const NetResult& r, double secs) const override {
    w.kv("bits_per_s", secs > 0 ? double(cpu_ops(r)) * 8 / secs : 0.0);
    w.kv("counted_at", r.options.reverse ? "receiver (client)" : "sender (client): bytes accepted by the socket");
    w.key("streams");
    w.begin_array();
    for (uint64_t b : stream_bytes) {
      w.begin_object();
      w.kv("bytes", b);
      w.kv("bits_per_s", secs > 0 ? double(b) * 8 / secs : 0.0);
      w.end_object();
    }
    w.end_array();
  }
  const char* cpu_per_name() const override { return "per_byte_ns"; }
  uint64_t cpu_ops(const NetResult& r) const override { return r.options.reverse ? r.bytes_received : r.bytes_sent; }
};

std::unique_ptr<NetKindPart> make_tcp_stream_part() { return std::make_unique<TcpStreamPart>(); }

}  // namespace
}  // namespace netloop

// Its size by default: 128k, a bulk write.
extern const NetKind kTcpStreamKind = {"tcp_stream", "stream", "tcp", false, false, &NetOptions::streams, "size=128k", nullptr, netloop::tcp_stream, netloop::make_tcp_stream_part};

}  // namespace isoprobe
