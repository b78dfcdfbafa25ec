// SHA-256 (FIPS 180-4) of a byte stream or a file, and the probe's own identity: the hash of the
// executable (or shared object) that is running, computed where it runs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace isoprobe {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t len);
  std::string hex();  // finishes; the object is spent afterwards

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t used_ = 0;
  uint64_t total_ = 0;
};

// Hex SHA-256 of a file's contents; "" with *why set when it cannot be read.
std::string sha256_file(const std::string& path, std::string* why);

struct ProbeIdentity {
  std::string path;    // what was hashed: /proc/self/exe, or the addon's shared object
  std::string sha256;  // "" when it could not be read (why says)
  std::string why;
};

// The addon sets the path of its own shared object before any run; the static probe hashes
// /proc/self/exe. Computed once per process, on first use (after the measurement, not before).
void set_probe_self_path(const std::string& path);
const ProbeIdentity& probe_identity();

}  // namespace isoprobe
