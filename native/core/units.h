// Parsing and formatting of sizes (k/M/G/T, powers of 1024) and durations (ns/us/ms/s/m).
#pragma once
#include <cstdint>
#include <string>

namespace isoprobe {

// "4k" -> 4096, "256M", "1GiB", "512"; false on anything else or overflow.
bool parse_size(const std::string& s, uint64_t* out);
// "5s", "250ms", "10us", "100ns", "2m"; a bare number is seconds. false on error/overflow.
bool parse_duration(const std::string& s, uint64_t* out_ns);
bool parse_uint(const std::string& s, uint64_t* out);

}  // namespace isoprobe
