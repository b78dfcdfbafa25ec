// A CPU canary: a fixed amount of work timed on one CPU. Beside a measured block it says whether
// that CPU was the machine's to use (a hog, a noisy neighbour or steal stretches it), measured by
// the same clock and on the same CPU as the block, and blind to which side the block was.
#pragma once
#include <cstdint>

#include "error.h"

namespace isoprobe {

// Runs `iterations` rounds of a dependent integer loop on a thread pinned to `cpu` (-1: unpinned)
// and returns the wall time it took, in ns; a negative errno with *e set when it cannot pin.
int64_t cpu_canary_ns(int cpu, uint64_t iterations, Error* e);

}  // namespace isoprobe
