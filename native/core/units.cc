// Strict unit parsing: digits, an optional fraction, and one known suffix; nothing else.
#include "units.h"

#include <cmath>
#include <cstring>

namespace isoprobe {

namespace {

// Splits "12.5ms" into 12.5 and "ms". Rejects signs, spaces, exponents and empty numbers.
bool split_number(const std::string& s, long double* num, std::string* suffix) {
  size_t i = 0;
  bool digits = false;
  long double v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') { v = v * 10 + (s[i] - '0'); i++; digits = true; }
  if (i < s.size() && s[i] == '.') {
    i++;
    long double scale = 0.1L;
    bool frac = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') { v += (s[i] - '0') * scale; scale /= 10; i++; frac = true; }
    if (!frac) return false;
    digits = true;
  }
  if (!digits) return false;
  *num = v;
  *suffix = s.substr(i);
  return true;
}

bool finish(long double v, long double mult, uint64_t* out) {
  long double r = v * mult;
  if (r > 18446744073709551615.0L) return false;
  long double rounded = std::floor(r + 0.5L);
  if (std::fabs(rounded - r) > 1e-6L) return false;  // "1.5" bytes, "0.5ns": not whole units
  *out = uint64_t(rounded);
  return true;
}

}  // namespace

bool parse_uint(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  unsigned __int128 v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + unsigned(c - '0');
  }
  if (v > UINT64_MAX) return false;
  *out = uint64_t(v);
  return true;
}

bool parse_size(const std::string& s, uint64_t* out) {
  long double v;
  std::string suf;
  if (!split_number(s, &v, &suf)) return false;
  static const struct { const char* s; long double m; } tab[] = {
      {"", 1}, {"b", 1}, {"B", 1},
      {"k", 1024.0L}, {"K", 1024.0L}, {"KiB", 1024.0L}, {"kiB", 1024.0L},
      {"m", 1048576.0L}, {"M", 1048576.0L}, {"MiB", 1048576.0L},
      {"g", 1073741824.0L}, {"G", 1073741824.0L}, {"GiB", 1073741824.0L},
      {"t", 1099511627776.0L}, {"T", 1099511627776.0L}, {"TiB", 1099511627776.0L},
  };
  for (auto& t : tab)
    if (suf == t.s) return finish(v, t.m, out);
  return false;
}

bool parse_duration(const std::string& s, uint64_t* out_ns) {
  long double v;
  std::string suf;
  if (!split_number(s, &v, &suf)) return false;
  static const struct { const char* s; long double m; } tab[] = {
      {"", 1e9L}, {"s", 1e9L}, {"ms", 1e6L}, {"us", 1e3L}, {"ns", 1}, {"m", 60e9L}, {"min", 60e9L}, {"h", 3600e9L},
  };
  for (auto& t : tab)
    if (suf == t.s) return finish(v, t.m, out_ns);
  return false;
}

}  // namespace isoprobe
