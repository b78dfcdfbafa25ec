// libFuzzer: the probe's option parsing and validation (block and net), sizes, durations and
// addresses - everything a flag or a guest plan can feed in.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../core/block_options.h"
#include "../core/net_addr.h"
#include "../core/net_options.h"
#include "../core/units.h"

using namespace isoprobe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> tok;
  std::string cur;
  for (char c : in) {
    if (c == '\0' || c == '\n') { tok.push_back(cur); cur.clear(); }
    else cur += c;
  }
  tok.push_back(cur);
  uint64_t u;
  parse_size(in, &u);
  parse_duration(in, &u);
  parse_uint(in, &u);
  SockAddr a;
  std::string why;
  if (parse_addr(in, &a, true, &why)) (void)a.str();
  BlockOptions b;
  NetOptions n;
  Error e;
  for (size_t i = 0; i + 1 < tok.size(); i += 2) {
    set_block_option(&b, tok[i], tok[i + 1], &e);
    set_net_option(&n, tok[i], tok[i + 1], &e);
  }
  validate_block_options(b, &e);
  if (!tok.empty()) n.mode = tok[0];
  validate_net_options(n, &e);
  return 0;
}
