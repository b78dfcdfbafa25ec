// The host-side tracer's loader: loads the eBPF programs (trace.bpf.c, through the skeleton the
// build made), follows the given processes, and returns the window's per-operation records and
// counts. No Node headers: the addon wraps it, and a C++ test could drive it as well. Where
// tracing cannot run, every entry point says exactly why instead.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "trace_event.h"

namespace isoprobe {

struct TraceConfig {
  std::vector<uint32_t> pids;   // processes whose threads (and later children) are traced
  std::vector<uint32_t> parents;  // processes whose children (forked from now on) are traced
  uint64_t cgroup_id = 0;       // a cgroup v2 (its id, the directory's inode) traced as well
  uint64_t file_ino = 0;        // the data file (0: the I/O calls on any file)
  uint32_t file_major = 0, file_minor = 0;  // its filesystem's device
  uint32_t rdev_major = 0, rdev_minor = 0;  // a block device as the data: its device number (0:0: a file)
  uint32_t disk_major = 0, disk_minor = 0;  // the backing disk (0:0: no device layer)
  std::vector<trace_extent> extents;        // the file's sectors on that disk
  bool window_by_marks = true;  // the traced process's measure marks open and close the window
  // The KVM tracepoints to attach (lib/trace/kvm.ts decides from tracefs), kvm_exit's exit_reason
  // offset in its record (0: not read).
  std::vector<std::string> kvm_events;
  uint32_t kvm_exit_reason_off = 0;
  uint64_t record_budget = 1u << 20;
};

struct TraceData {
  std::vector<trace_record> records;              // in the order they arrived
  std::vector<std::vector<uint64_t>> counters;    // [cpu][trace_counter]
  std::vector<uint64_t> syscalls;                 // entered in the window, by number
  uint32_t window = WINDOW_WAITING;
  uint64_t window_open_ns = 0, window_close_ns = 0;
  uint32_t marks_tgid = 0;  // the process whose measure-start mark opened the window (0: relayed)
  std::vector<std::string> not_traced;            // a layer or count missing here, and why
  // Per program: runs and their time (counted by the kernel while kernel.bpf_stats_enabled is 1:
  // the tracer's own CPU), and the events it missed because it was already running on that CPU.
  struct Program {
    std::string name;
    uint64_t run_cnt = 0, run_time_ns = 0, recursion_misses = 0;
  };
  std::vector<Program> programs;
  // Per traced thread seen in the window: its process, cgroup, name and counts (TS_*), for the
  // counts by role; its system calls by number; the traced vCPUs' VM exits by reason.
  struct Thread {
    uint32_t tid = 0, tgid = 0;
    uint64_t cgroup = 0;
    std::string comm;
    std::vector<uint64_t> n;
  };
  std::vector<Thread> threads;
  struct ThreadSyscall {
    uint32_t tid = 0, nr = 0;
    uint64_t count = 0;
  };
  std::vector<ThreadSyscall> thread_syscalls;
  std::vector<std::pair<uint32_t, uint64_t>> kvm_exit_reasons;
  // The KVM tracepoints attached (none where /sys/kernel/tracing/events/kvm is missing).
  std::vector<std::string> kvm_attached;
};

// "" when this build has the tracer and the kernel offers what it needs; else the exact reason
// (not built in, no BTF, not root). A load can still fail later: start() then says why.
std::string trace_unavailable();

class Tracer {
 public:
  Tracer();
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;
  // Loads and attaches; 0, or -errno with *why the exact reason.
  int start(const TraceConfig& c, std::string* why);
  // More processes to follow (a probe started after the tracer).
  int add_pids(const std::vector<uint32_t>& pids, std::string* why);
  // Parents whose further children are no longer traced (the probe they started is).
  int drop_parents(const std::vector<uint32_t>& pids, std::string* why);
  // Opens or closes the window by hand (window_by_marks false: a VM's marks arrive by frames).
  void set_window(bool open);
  uint32_t window() const;
  // Detaches, drains the records, reads the counts.
  int stop(TraceData* out, std::string* why);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// FIEMAP: a file's extents on the whole disk that carries it, for block_rq_* (whose sectors are
// the disk's, after a partition's offset). device_why says why there is no device layer.
struct FileMap {
  uint64_t ino = 0;
  uint32_t major = 0, minor = 0;            // the file's filesystem device
  // A block device as the data: its own device number. Any node of it (another path, another
  // mount of /dev, a container's) is the same data, so calls are matched by it, not by the node.
  uint32_t rdev_major = 0, rdev_minor = 0;
  uint32_t disk_major = 0, disk_minor = 0;  // the whole disk (0:0: none)
  std::string disk;                         // its name ("vda")
  uint64_t size = 0;
  std::vector<trace_extent> extents;
  std::string device_why;
};
int map_file(const std::string& path, FileMap* out, std::string* why);

}  // namespace isoprobe
