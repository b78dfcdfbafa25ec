// Address parsing and formatting.
#include "net_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "units.h"

namespace isoprobe {

std::string SockAddr::str() const {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a->sin_port));
  }
  auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
  inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
  return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a->sin6_port));
}

bool parse_addr(const std::string& s, SockAddr* out, bool allow_port0, std::string* why) {
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') { *why = "expected [IPv6]:PORT"; return false; }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos) { *why = "expected ADDR:PORT"; return false; }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  uint64_t p;
  if (!parse_uint(port, &p) || p > 65535 || (p == 0 && !allow_port0)) {
    *why = allow_port0 ? "expected a port from 0 to 65535" : "expected a port from 1 to 65535";
    return false;
  }
  if (host == "localhost") host = "127.0.0.1";
  std::memset(&out->ss, 0, sizeof out->ss);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out->ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out->ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(uint16_t(p));
    out->len = sizeof(sockaddr_in);
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(uint16_t(p));
    out->len = sizeof(sockaddr_in6);
    return true;
  }
  *why = "expected a numeric IPv4 or IPv6 address (no name lookup) or localhost";
  return false;
}

bool is_loopback(const SockAddr& a) {
  if (a.family() == AF_INET) {
    auto* v4 = reinterpret_cast<const sockaddr_in*>(&a.ss);
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a.ss);
  return IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
}

}  // namespace isoprobe
