// Opening a block run's data file or device: the write rule (never a file or device isoprobe did
// not create without --destructive, never a mounted or signed device without --force), the
// run's flock, and the O_DIRECT alignment. Fills the result's file members.
#pragma once
#include <string>

#include "block.h"

namespace isoprobe {

struct BlockTarget {
  std::string path;
  int fd = -1;     // the run's descriptor: layout, page cache, verification, the lock
  int flags = 0;   // O_DIRECT / O_DSYNC / O_CLOEXEC as the run opened it
  bool writes = false;
  BlockTarget() = default;
  BlockTarget(const BlockTarget&) = delete;
  BlockTarget& operator=(const BlockTarget&) = delete;
  ~BlockTarget();
  // A job's own descriptor of the same file with the same flags, or a negative errno with *e.
  int open_again(Error* e) const;
};

// Returns 0, or a negative errno with *e naming the option (EREFUSED, ELOCKED codes).
int open_block_target(const BlockOptions& o, Pattern pat, BlockTarget* t, BlockResult* r, Error* e);

}  // namespace isoprobe
