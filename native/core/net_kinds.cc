// The registry of network workload kinds: each kind's entry is declared in its own loop file;
// this list is the one line a new kind adds outside it.
#include "net_kind.h"

#include "json.h"

namespace isoprobe {

extern const NetKind kTcpRrKind, kUdpRrKind, kTcpStreamKind, kUdpStreamKind;

const std::vector<const NetKind*>& net_kind_registry() {
  static const std::vector<const NetKind*> all = {&kTcpRrKind, &kUdpRrKind, &kTcpStreamKind, &kUdpStreamKind};
  return all;
}

const NetKind* net_kind_of(const std::string& mode, const std::string& proto) {
  for (auto* k : net_kind_registry())
    if (mode == k->mode && proto == k->proto) return k;
  return nullptr;
}

std::string net_kinds_json() {
  JsonWriter w;
  w.begin_array();
  for (auto* k : net_kind_registry()) {
    w.begin_object();
    w.kv("name", k->name);
    w.kv("mode", k->mode);
    w.kv("proto", k->proto);
    w.end_object();
  }
  w.end_array();
  return w.str();
}

std::string net_kind_modes() {
  std::vector<std::string> modes;
  for (auto* k : net_kind_registry()) {
    bool seen = false;
    for (auto& m : modes) seen = seen || m == k->mode;
    if (!seen) modes.push_back(k->mode);
  }
  std::string s;
  for (size_t i = 0; i < modes.size(); i++) s += (i == 0 ? "" : i + 1 == modes.size() ? " or " : ", ") + modes[i];
  return s;
}

}  // namespace isoprobe
