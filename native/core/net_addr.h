// ADDR:PORT parsing without DNS (the static probe has no resolver): IPv4, [IPv6], localhost.
#pragma once
#include <sys/socket.h>

#include <string>

namespace isoprobe {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
  std::string str() const;
};

// "127.0.0.1:9000", "[::1]:9000", "localhost:9000"; port 0 allowed when allow_port0.
bool parse_addr(const std::string& s, SockAddr* out, bool allow_port0, std::string* why);
bool is_loopback(const SockAddr& a);

}  // namespace isoprobe
