// Advisory whole-file locks (flock) on what two isoprobe runs could share: a data file or
// device, a cache being filled, a daemon isoprobe started. A lock dies with its holder (no stale
// lock after a SIGKILL); the holder is found in /proc/locks to say who has it.
#pragma once
#include <string>
#include <vector>

#include "error.h"

namespace isoprobe {

// Pids holding or waiting for a flock on the file open as fd (from /proc/locks; pids as this
// process's pid namespace sees them, 0 or absent when the holder is in another one).
std::vector<int> flock_holders(int fd);

// flock(fd) without waiting. Returns 0, -EWOULDBLOCK when another open file holds a conflicting
// lock, or another negative errno.
int flock_now(int fd, bool exclusive);

// Opens (creating 0600, close-on-exec) the lock file at path and locks it without waiting. Returns
// the fd holding the lock; -EWOULDBLOCK with *holders filled when another holds it; another
// negative errno with *e set. A file unlinked by its last holder between open and lock is noticed
// (the inode is compared) and opened again.
int lock_file(const std::string& path, bool exclusive, std::vector<int>* holders, Error* e);

// Releases a lock taken by lock_file: with unlink_path, removes the file first when it is still
// the one locked (only an exclusive holder may, since nobody else can hold it then).
void unlock_file(int fd, const std::string& unlink_path);

}  // namespace isoprobe
