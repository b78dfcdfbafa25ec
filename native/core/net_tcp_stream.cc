// A TCP stream: after a header saying which way, the client sends (or with --reverse receives)
// as fast as the connection takes it; bytes are counted at the client.
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "clock.h"
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

}  // namespace netloop
}  // namespace isoprobe
