// Verification content and checks (block_verify.h).
#include "block_verify.h"

#include <cstring>

#include "thread_util.h"

namespace isoprobe {

namespace {
constexpr uint64_t kMagic = 0x45424f52504f5349ull;  // "ISOPROBE"
}  // namespace

// Block content for verification: a header naming offset, run nonce and generation, then a
// stream derived from all three, so a misplaced, stale or torn block cannot pass.
void fill_block(char* buf, uint64_t len, uint64_t offset, uint64_t nonce, uint64_t gen) {
  uint64_t h[4] = {kMagic, offset, nonce, gen};
  std::memcpy(buf, h, sizeof h);
  uint64_t x = offset * 0x9e3779b97f4a7c15ull ^ nonce ^ (gen << 56);
  for (uint64_t i = sizeof h; i + 8 <= len; i += 8) {
    uint64_t v = Rng::splitmix(x);
    std::memcpy(buf + i, &v, 8);
  }
  for (uint64_t i = len - len % 8; i < len && i >= sizeof h; i++) buf[i] = char(i);
}

// mask bit 0: generation 0 (layout) allowed; bit 1: generation 1 (written this run) allowed.
// Returns "" when the block holds what it must, else what it holds instead, for the message.
std::string check_block(const char* buf, uint64_t len, uint64_t offset, uint64_t nonce, unsigned mask, char* scratch) {
  uint64_t h[4];
  std::memcpy(h, buf, sizeof h);
  if (h[0] != kMagic) return "not this run's data: no isoprobe block header (overwritten by something else)";
  if (h[2] != nonce) return "a block of another run (nonce differs): overwritten or never written by this run";
  if (h[1] != offset) return "misplaced: it holds the block written for offset " + std::to_string(h[1]);
  if (h[3] > 1) return "a header with an impossible generation " + std::to_string(h[3]) + " (corrupted)";
  if (!(mask & (1u << h[3])))
    return h[3] == 0 ? "stale: the layout's content, though this run's write of it had completed (a lost write)"
                     : "a write of this run where none had been made (corrupted)";
  fill_block(scratch, len, offset, nonce, h[3]);
  if (std::memcmp(buf, scratch, len) == 0) return "";
  uint64_t i = 0;
  while (i < len && buf[i] == scratch[i]) i++;
  return "corrupt: the header is right, the content differs from byte " + std::to_string(i) + " on (torn or overwritten)";
}

}  // namespace isoprobe
