// The guest's view of its virtio queues (guest_devices.h).
#include "guest_devices.h"

#include <dirent.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "../core/json.h"

namespace isoprobe {

namespace {

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

size_t count_prefixed(const std::vector<std::string>& names, const char* prefix) {
  return size_t(std::count_if(names.begin(), names.end(), [&](const std::string& n) { return n.rfind(prefix, 0) == 0; }));
}

int ethtool_ioctl(int s, const std::string& ifname, void* data) {
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = reinterpret_cast<char*>(data);
  return ioctl(s, SIOCETHTOOL, &ifr);
}

bool channels(const std::string& ifname, ethtool_channels* ch) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  *ch = ethtool_channels{};
  ch->cmd = ETHTOOL_GCHANNELS;
  bool ok = ethtool_ioctl(s, ifname, ch) == 0;
  close(s);
  return ok;
}

// "rx_queue_3_packets" (virtio_net before 6.10) or "rx3_packets" (after): direction and queue.
bool per_queue_packets(const char* name, char* dir, unsigned* q) {
  char tail[ETH_GSTRING_LEN];
  if (std::sscanf(name, "%1[rt]x_queue_%u_%31s", dir, q, tail) == 3 || std::sscanf(name, "%1[rt]x%u_%31s", dir, q, tail) == 3)
    return std::strcmp(tail, "packets") == 0;
  return false;
}

void diff_into(JsonWriter& w, const char* key, const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  w.key(key);
  w.begin_array();
  for (size_t i = 0; i < b.size(); i++) w.value(b[i] - (i < a.size() ? a[i] : 0));
  w.end_array();
}

}  // namespace

NetQueuePackets net_queue_packets(const std::string& ifname) {
  NetQueuePackets out;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return out;
  // ethtool_sset_info ends in the lengths of the sets asked for: one u32 here.
  alignas(ethtool_sset_info) char info_buf[sizeof(ethtool_sset_info) + sizeof(uint32_t)] = {};
  auto* info = reinterpret_cast<ethtool_sset_info*>(info_buf);
  info->cmd = ETHTOOL_GSSET_INFO;
  info->sset_mask = 1ull << ETH_SS_STATS;
  if (ethtool_ioctl(s, ifname, info) == 0 && info->sset_mask && info->data[0] > 0) {
    const uint32_t n = info->data[0];
    std::vector<char> names(sizeof(ethtool_gstrings) + size_t(n) * ETH_GSTRING_LEN);
    auto* gs = reinterpret_cast<ethtool_gstrings*>(names.data());
    gs->cmd = ETHTOOL_GSTRINGS;
    gs->string_set = ETH_SS_STATS;
    gs->len = n;
    std::vector<char> vals(sizeof(ethtool_stats) + size_t(n) * sizeof(uint64_t));
    auto* st = reinterpret_cast<ethtool_stats*>(vals.data());
    st->cmd = ETHTOOL_GSTATS;
    st->n_stats = n;
    if (ethtool_ioctl(s, ifname, gs) == 0 && ethtool_ioctl(s, ifname, st) == 0) {
      for (uint32_t i = 0; i < n; i++) {
        char name[ETH_GSTRING_LEN + 1] = {}, dir[2] = {};
        std::memcpy(name, gs->data + size_t(i) * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
        unsigned q = 0;
        if (!per_queue_packets(name, dir, &q) || q > 255) continue;
        auto& v = dir[0] == 'r' ? out.rx : out.tx;
        if (v.size() <= q) v.resize(q + 1);
        v[q] = st->data[i];
      }
    }
  }
  close(s);
  return out;
}

QueueSnapshot queue_snapshot() { return {blk_queue_irqs("vda"), net_queue_packets("eth0")}; }

std::string queue_counts_json(const QueueSnapshot& a, const QueueSnapshot& b) {
  const bool blk = !b.blk.empty() && b.blk.size() == a.blk.size();
  const bool net = !b.net.rx.empty() || !b.net.tx.empty();
  if (!blk && !net) return "";
  JsonWriter w;
  w.begin_object();
  if (blk) {
    w.kv("counter", "completion interrupts per queue (/proc/interrupts, MSI-X)");
    w.key("block");
    w.begin_object();
    diff_into(w, "vda", a.blk, b.blk);
    w.end_object();
  }
  if (net) {
    w.kv("net_counter", "packets per queue (the driver's ETHTOOL_GSTATS, as ethtool -S)");
    w.key("net");
    w.begin_object();
    w.key("eth0");
    w.begin_object();
    diff_into(w, "rx_packets", a.net.rx, b.net.rx);
    diff_into(w, "tx_packets", a.net.tx, b.net.tx);
    w.end_object();
    w.end_object();
  }
  w.end_object();
  return w.str();
}

std::string guest_devices_json() {
  JsonWriter w;
  w.begin_object();
  w.key("block");
  w.begin_array();
  for (auto& dev : entries("/sys/block")) {
    if (dev.rfind("vd", 0) != 0) continue;  // virtio-blk disks
    w.begin_object();
    w.kv("dev", dev);
    w.kv("queues", uint64_t(entries("/sys/block/" + dev + "/mq").size()));
    w.end_object();
  }
  w.end_array();
  w.key("net");
  w.begin_array();
  for (auto& dev : entries("/sys/class/net")) {
    if (dev == "lo") continue;
    auto q = entries("/sys/class/net/" + dev + "/queues");
    w.begin_object();
    w.kv("dev", dev);
    w.kv("rx_queues", uint64_t(count_prefixed(q, "rx-")));
    w.kv("tx_queues", uint64_t(count_prefixed(q, "tx-")));
    ethtool_channels ch;
    if (channels(dev, &ch)) {
      w.key("channels");
      w.begin_object();
      w.kv("combined", uint64_t(ch.combined_count));
      w.kv("max_combined", uint64_t(ch.max_combined));
      w.end_object();
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.str();
}

std::vector<uint64_t> blk_queue_irqs(const std::string& dev) {
  // The disk's virtio device ("virtio1") from its sysfs link; its queues' MSI-X vectors are the
  // lines of /proc/interrupts ending in "virtio1-req.0", "virtio1-req.1", ...
  char link[512];
  ssize_t n = readlink(("/sys/block/" + dev + "/device").c_str(), link, sizeof link - 1);
  if (n <= 0) return {};
  link[n] = 0;
  std::string virtio = std::strrchr(link, '/') ? std::strrchr(link, '/') + 1 : link;
  const std::string tag = virtio + "-req.";
  std::ifstream f("/proc/interrupts");
  std::string line;
  std::vector<std::pair<unsigned, uint64_t>> found;
  while (std::getline(f, line)) {
    size_t at = line.rfind(tag);
    if (at == std::string::npos) continue;
    unsigned q = unsigned(std::atoi(line.c_str() + at + tag.size()));
    // "  24:   1203   877   PCI-MSIX-0000:00:02.0  1-edge  virtio1-req.0": the per-CPU counts follow the colon.
    uint64_t total = 0;
    const char* p = std::strchr(line.c_str(), ':');
    for (p = p ? p + 1 : line.c_str(); *p;) {
      while (*p == ' ') p++;
      if (*p < '0' || *p > '9') break;
      total += std::strtoull(p, const_cast<char**>(&p), 10);
    }
    found.emplace_back(q, total);
  }
  std::sort(found.begin(), found.end());
  std::vector<uint64_t> out;
  for (auto& qc : found) out.push_back(qc.second);
  return out;
}

bool set_channels(const std::string& ifname, unsigned n, std::string* why) {
  ethtool_channels ch;
  if (!channels(ifname, &ch)) return *why = ifname + ": ETHTOOL_GCHANNELS: " + std::strerror(errno), false;
  unsigned want = std::min(n, ch.max_combined);
  if (ch.combined_count >= want) return true;
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ch.cmd = ETHTOOL_SCHANNELS;
  ch.combined_count = want;
  bool ok = ethtool_ioctl(s, ifname, &ch) == 0;
  if (!ok) *why = ifname + ": ETHTOOL_SCHANNELS combined " + std::to_string(want) + ": " + std::strerror(errno);
  close(s);
  return ok;
}

}  // namespace isoprobe
