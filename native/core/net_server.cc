// The echo server: TCP (a thread per connection: echo, sink or source) and UDP (one thread: echo,
// or count the datagrams of a UDP stream and report them when its sender asks).
// Stopping shuts every socket down, so no thread stays blocked.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "clock.h"
#include "net.h"
#include "net_udp_stream.h"  // the server counts UDP stream datagrams: a server concern
#include "thread_util.h"

#include <sched.h>

namespace isoprobe {

struct EchoServer::Impl {
  NetOptions o;
  int listen_fd = -1;
  int stop_fd = -1;
  std::thread acceptor;
  std::mutex mu;
  std::vector<int> conn_fds;
  std::vector<std::thread> workers;
  std::atomic<uint64_t> conns{0}, echoes{0};
  std::atomic<bool> stalled{false}, stopping{false};

  void maybe_stall() {
    // --service: spun, not slept: a sleep of a few microseconds overshoots by tens of them.
    if (o.service) for (uint64_t t0 = mono_ns(); mono_ns() - t0 < o.service;) {}
    uint64_t n = echoes.fetch_add(1, std::memory_order_relaxed) + 1;
    if (!o.stall_after) return;
    if (n >= o.stall_after && !stalled.exchange(true)) {
      timespec ts{time_t(o.stall / 1000000000ull), long(o.stall % 1000000000ull)};
      while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    }
  }

  static bool send_all(int fd, const char* p, size_t n) {
    while (n) {
      ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) return false;
      p += k;
      n -= size_t(k);
    }
    return true;
  }

  void serve_tcp(int fd) {
    std::vector<char> buf(std::max<uint64_t>(o.size, 256 << 10));
    ssize_t n;
    do n = recv(fd, buf.data(), buf.size(), 0); while (n < 0 && errno == EINTR);
    // A stream client announces itself with the 16-byte header; anything else is echoed,
    // so plain echo clients (sockperf-like tools, tests) work too.
    if (n >= 16 && std::memcmp(buf.data(), kNetMagic, 8) == 0) {
      uint32_t mode, size;
      std::memcpy(&mode, buf.data() + 8, 4);
      std::memcpy(&size, buf.data() + 12, 4);
      if (mode == kSource) {
        std::vector<char> out(size ? size : 1, 'x');
        while (!stopping.load(std::memory_order_relaxed) && send_all(fd, out.data(), out.size())) {}
      } else {
        while ((n = recv(fd, buf.data(), buf.size(), 0)) > 0 || (n < 0 && errno == EINTR)) {}
      }
      return;
    }
    while (n > 0) {
      maybe_stall();
      if (!send_all(fd, buf.data(), size_t(n))) return;
      do n = recv(fd, buf.data(), buf.size(), 0); while (n < 0 && errno == EINTR);
    }
  }

  // Waits until the listening socket is readable; false once stop() was called (or poll failed).
  bool wait_readable() {
    pollfd p[2] = {{listen_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    for (;;) {
      if (poll(p, 2, -1) >= 0) return p[1].revents == 0;
      if (errno != EINTR) return false;
    }
  }

  void accept_loop() {
    while (wait_readable()) {
      int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (o.busy_poll) setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &o.busy_poll, sizeof o.busy_poll);
      conns++;
      std::lock_guard<std::mutex> lock(mu);
      conn_fds.push_back(fd);
      workers.emplace_back([this, fd] { serve_tcp(fd); shutdown(fd, SHUT_RDWR); });
    }
  }

  // UDP streams by sender address: each client socket is one stream.
  std::map<std::string, UdpStreamReceiver> streams;

  // A datagram of a UDP stream: counted (data), or the sender's ask for its report, answered.
  void udp_stream_datagram(const UdpStreamHeader& h, const sockaddr_storage& from, socklen_t flen) {
    std::string key(reinterpret_cast<const char*>(&from), flen);
    if (h.type == kUdpData) {
      streams[key].on_data(h, mono_ns(), o.drop_every);
    } else if (h.type == kUdpAsk) {
      char out[kUdpReportSize];
      auto it = streams.find(key);
      size_t n = write_udp_report(out, it == streams.end() ? UdpStreamReport{} : it->second.r);
      sendto(listen_fd, out, n, 0, reinterpret_cast<const sockaddr*>(&from), flen);
    }
    if (streams.size() > 4096) streams.clear();  // a long-lived server forgets streams long done
  }

  void udp_loop() {
    std::vector<char> buf(65536);
    while (wait_readable()) {
      // Drain what is queued before polling again: a stream arrives faster than one poll each.
      for (;;) {
        sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(listen_fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen);
        if (n < 0) break;
        UdpStreamHeader h;
        if (read_udp_header(buf.data(), size_t(n), &h)) {
          udp_stream_datagram(h, from, flen);
          continue;
        }
        maybe_stall();
        sendto(listen_fd, buf.data(), size_t(n), 0, reinterpret_cast<sockaddr*>(&from), flen);
      }
    }
  }
};

EchoServer::EchoServer() = default;
EchoServer::~EchoServer() { stop(); }

int EchoServer::start(const NetOptions& o, Error* e) {
  impl_ = std::make_unique<Impl>();
  impl_->o = o;
  std::string why;
  if (!parse_addr(o.bind, &addr_, true, &why)) return option_error(e, "bind", "--bind \"" + o.bind + "\": " + why);
  bool udp = o.proto == "udp";
  int fd = socket(addr_.family(), (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0) return sys_error(e, errno, "socket", "creating the server socket");
  impl_->listen_fd = fd;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr_.ss), addr_.len) != 0)
    return sys_error(e, errno, "bind", "--bind " + o.bind + (errno == EADDRINUSE ? ": the port is in use" : ""));
  if (!udp && listen(fd, 512) != 0) return sys_error(e, errno, "listen", "--bind " + o.bind);
  addr_.len = sizeof addr_.ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr_.ss), &addr_.len);
  impl_->stop_fd = eventfd(0, EFD_CLOEXEC);
  if (impl_->stop_fd < 0) return sys_error(e, errno, "eventfd", "server stop signal");
  // --cpus: the acceptor runs there, and the connection threads it starts inherit its CPUs. A
  // list the process may not use is refused here, before the acceptor starts.
  std::vector<int> cpus;
  if (int rc = placement_cpus(o.cpus, o.cpu, &cpus, e, PlaceRole::Server)) return rc;
  cpus_ = cpus;
  if (!cpus.empty()) {
    cpu_set_t before;
    sched_getaffinity(0, sizeof before, &before);
    if (int rc = pin_thread_set(cpus, o.cpus.empty() ? "cpu" : "cpus", e)) return rc;
    sched_setaffinity(0, sizeof before, &before);
  }
  Impl* im = impl_.get();
  impl_->acceptor = std::thread([im, udp, cpus] {
    Error ignored;  // the same set was accepted above
    if (!cpus.empty()) pin_thread_set(cpus, "cpus", &ignored);
    udp ? im->udp_loop() : im->accept_loop();
  });
  return 0;
}

void EchoServer::stop() {
  if (!impl_) return;
  impl_->stopping = true;
  if (impl_->stop_fd >= 0) {
    uint64_t one = 1;
    if (write(impl_->stop_fd, &one, sizeof one) < 0) {}
  }
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (int fd : impl_->conn_fds) shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : impl_->workers)
    if (t.joinable()) t.join();
  for (int fd : impl_->conn_fds) close(fd);
  if (impl_->listen_fd >= 0) close(impl_->listen_fd);
  if (impl_->stop_fd >= 0) close(impl_->stop_fd);
  impl_.reset();
}

uint64_t EchoServer::connections() const { return impl_ ? impl_->conns.load() : 0; }
uint64_t EchoServer::echoed() const { return impl_ ? impl_->echoes.load() : 0; }

}  // namespace isoprobe
