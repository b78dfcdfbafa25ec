// Host page-cache control for cache honesty: evict a file's pages, count the resident ones.
#pragma once
#include <cstdint>
#include <string>

#include "error.h"

namespace isoprobe {

// Bytes of [offset, offset+len) of an open fd resident in the page cache (mincore), -1 on failure.
int64_t resident_bytes(int fd, uint64_t offset, uint64_t len);
// The same once no readahead is in flight: mincore counts a page only when it is up to date, so
// pages the kernel is still reading ahead would be missed here and counted by whoever looks
// next. Counted until two counts 5 ms apart agree (at most 40 tries, 200 ms).
int64_t settled_resident_bytes(int fd, uint64_t offset, uint64_t len);

// Writes back and drops the file's cached pages (fdatasync + POSIX_FADV_DONTNEED).
int evict_file(const std::string& path, Error* e);
// Resident bytes of the whole file; fills *size. Negative errno on failure.
int64_t file_resident_bytes(const std::string& path, uint64_t* size, Error* e);

}  // namespace isoprobe
