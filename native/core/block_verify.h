// --verify: what each block holds (a header naming offset, run nonce and generation, then a
// stream derived from all three, so a misplaced, stale or torn block cannot pass) and what a job
// knows about each block of its region while it runs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace isoprobe {

void fill_block(char* buf, uint64_t len, uint64_t offset, uint64_t nonce, uint64_t gen);

// mask bit 0: generation 0 (layout) allowed; bit 1: generation 1 (written this run) allowed.
// Returns "" when the block holds what it must, else what it holds instead, for the message.
std::string check_block(const char* buf, uint64_t len, uint64_t offset, uint64_t nonce, unsigned mask, char* scratch);

// Per block: writes in flight, sequence number of the last write issued, and whether a write has
// completed. A read that overlaps a write of its block in time may legitimately see a mix of
// both, so it is counted as skipped rather than checked.
struct BlockState {
  uint32_t inflight = 0;
  uint8_t written = 0;
  uint64_t last_write_seq = 0;
};

struct VerifyCounts {
  uint64_t checked = 0, mismatches = 0, skipped = 0;
  int64_t first_bad = -1;
  std::string first_reason;
  void note(const std::string& why, uint64_t offset) {
    if (why.empty()) return;
    if (mismatches++ == 0) {
      first_bad = int64_t(offset);
      first_reason = why;
    }
  }
};

}  // namespace isoprobe
