// Host page-cache control for cache honesty: evict a file's pages, count the resident ones.
#pragma once
#include <cstdint>
#include <string>

#include "error.h"

namespace isoprobe {

// Bytes of [offset, offset+len) of an open fd resident in the page cache (mincore), -1 on failure.
int64_t resident_bytes(int fd, uint64_t offset, uint64_t len);

// Writes back and drops the file's cached pages (fdatasync + POSIX_FADV_DONTNEED).
int evict_file(const std::string& path, Error* e);
// Resident bytes of the whole file; fills *size. Negative errno on failure.
int64_t file_resident_bytes(const std::string& path, uint64_t* size, Error* e);

}  // namespace isoprobe
