/* The tracer's eBPF programs, on BTF tracepoints only (no kprobes): the traced processes' I/O
 * calls on the data file (sys_enter/sys_exit, io_uring submit/complete), the backing device's
 * requests inside the file's extents (issue/complete), and the window's mechanism counts
 * (system calls by number, context switches, wake-ups, interrupts, softirqs). Per-operation
 * records go to a ring buffer within a budget; counts are kept here, per CPU. */
#include <linux/bpf.h>

#include "trace_kernel.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "trace_event.h"

/* The kernel gives BTF tracepoints and bpf_probe_read_kernel to GPL-compatible programs only. */
char LICENSE[] SEC("license") = "GPL";

#if defined(__TARGET_ARCH_x86)
enum { NR_WRITE = 1, NR_WRITEV = 20, NR_SENDMSG = 46, NR_PREAD64 = 17, NR_PWRITE64 = 18, NR_PREADV = 295, NR_PWRITEV = 296, NR_PREADV2 = 327, NR_PWRITEV2 = 328,
       NR_CLOSE = 3, NR_DUP2 = 33, NR_DUP3 = 292, NR_CLOSE_RANGE = 436, NR_EXECVE = 59 };
#else
enum { NR_WRITE = 64, NR_WRITEV = 66, NR_SENDMSG = 211, NR_PREAD64 = 67, NR_PWRITE64 = 68, NR_PREADV = 69, NR_PWRITEV = 70, NR_PREADV2 = 286, NR_PWRITEV2 = 287,
       NR_CLOSE = 57, NR_DUP2 = -1, NR_DUP3 = 24, NR_CLOSE_RANGE = 436, NR_EXECVE = 221 };
#endif

/* Set by the loader before load. */
const volatile __u64 file_ino = 0;      /* the data file (0: any file) */
const volatile __u32 file_dev = 0;      /* its filesystem's device, kernel encoding */
const volatile __u32 file_rdev = 0;     /* a block device as the data: its number, whatever node opened it */
const volatile __u32 disk_dev = 0;      /* the backing disk, kernel encoding (0: no device layer) */
const volatile __u32 n_extents = 0;
const volatile __u64 cgroup_id = 0;     /* a cgroup v2 whose tasks are traced too (0: none) */
const volatile __u32 window_by_marks = 1;
const volatile __u64 record_budget = 1 << 20;
/* Where kvm_exit's exit_reason lies in its record, from the tracepoint's format file (0: unknown). */
const volatile __u32 kvm_exit_reason_off = 0;

/* Shared with the loader (mmapped). */
__u32 window = WINDOW_WAITING;
__u64 window_open_ns = 0, window_close_ns = 0;
__u32 marks_tgid = 0;          /* the process that wrote the measure-start mark: the probe */
__u64 records_sent = 0;
__u64 fd_generation = 0;       /* moved on by a close_range, dup2/dup3 or execve: all cached fds stale */
__u64 disk_seen = 0;           /* the backing disk's gendisk, once a request showed it */

struct call_start {
  __u64 t0, off, len;
  __s32 nr, fd;
};

#define rq_start trace_rq_start

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096); __type(key, __u32); __type(value, __u8); } traced SEC(".maps");
/* Processes whose children are traced from their fork on, but not themselves (who starts the probe). */
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, __u8); } parents SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096); __type(key, __u32); __type(value, struct call_start); } calls SEC(".maps");
/* Whether a traced process's descriptor is the data file, decided once per (process, fd) and
 * forgotten at its close: the walk to the file's inode is the costliest part of a call. */
struct fd_verdict { __u64 generation; __u8 data; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096); __type(key, __u64); __type(value, struct fd_verdict); } fds SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8192); __type(key, __u64); __type(value, struct call_start); } urings SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8192); __type(key, __u64); __type(value, struct rq_start); } rqs SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, TRACE_MAX_EXTENTS); __type(key, __u32); __type(value, struct trace_extent); } extents SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, TRACE_MAX_SYSCALLS); __type(key, __u32); __type(value, __u64); } syscalls SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, CNT_COUNT); __type(key, __u32); __type(value, __u64); } counters SEC(".maps");
/* Per traced thread (by tid): its counts, for the counts by role; per thread and system call. */
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, TRACE_MAX_THREADS); __type(key, __u32); __type(value, struct thread_stat); } threads SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, TRACE_MAX_THREAD_SYSCALLS); __type(key, __u64); __type(value, __u64); } thread_syscalls SEC(".maps");
/* VM exits of the traced vCPU threads by reason (kvm_exit's exit_reason). */
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 256); __type(key, __u32); __type(value, __u64); } kvm_exit_reasons SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 16 << 20); } events SEC(".maps");

/* One more for `key` in a hash map of __u64 counts (its first, inserted); the insert's result: 0,
 * or a negative errno such as -E2BIG when the map is full. */
static __always_inline long add_one(void *map, const void *key) {
  __u64 *v = bpf_map_lookup_elem(map, key);
  if (v) {
    __sync_fetch_and_add(v, 1);
    return 0;
  }
  __u64 one = 1;
  return bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
}

static __always_inline void count(__u32 which) {
  __u64 *v = bpf_map_lookup_elem(&counters, &which);
  if (v) *v += 1;
}

static __always_inline bool is_traced_tgid(__u32 tgid) {
  return bpf_map_lookup_elem(&traced, &tgid) != 0;
}

static __always_inline bool current_traced(void) {
  if (is_traced_tgid(bpf_get_current_pid_tgid() >> 32)) return true;
  return cgroup_id && bpf_get_current_cgroup_id() == cgroup_id;
}

static __always_inline bool in_window(void) { return window == WINDOW_OPEN; }

/* Whether a task that need not be current is traced: its process, or its cgroup. */
static __always_inline bool task_traced(struct task_struct *t) {
  if (is_traced_tgid(t->tgid)) return true;
  return cgroup_id && BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id) == cgroup_id;
}

/* A thread's counter for the counts by role; its entry made when first seen, with its name. */
static __always_inline struct thread_stat *thread_stat_of(struct task_struct *t, bool current) {
  __u32 tid = t->pid;
  struct thread_stat *s = bpf_map_lookup_elem(&threads, &tid);
  if (s) {
    if (current && !s->cgroup) s->cgroup = bpf_get_current_cgroup_id();
    return s;
  }
  struct thread_stat ns = {};
  ns.tgid = t->tgid;
  if (current) ns.cgroup = bpf_get_current_cgroup_id();
  bpf_probe_read_kernel_str(ns.comm, sizeof(ns.comm), t->comm);
  bpf_map_update_elem(&threads, &tid, &ns, BPF_NOEXIST);
  s = bpf_map_lookup_elem(&threads, &tid);
  if (!s) count(CNT_THREADS_LOST);
  return s;
}

static __always_inline void thread_count(struct task_struct *t, bool current, __u32 which) {
  struct thread_stat *s = thread_stat_of(t, current);
  if (s && which < TS_COUNT) __sync_fetch_and_add(&s->n[which], 1);
}

static __always_inline void current_count(__u32 which) {
  thread_count(bpf_get_current_task_btf(), true, which);
}

/* A record within the budget, counted either way. */
static __always_inline void emit(const struct trace_record *r) {
  if (__sync_fetch_and_add(&records_sent, 1) >= record_budget) {
    count(CNT_OVER_BUDGET);
    return;
  }
  if (bpf_ringbuf_output(&events, (void *)r, sizeof(*r), BPF_RB_NO_WAKEUP) != 0) count(CNT_RINGBUF_FULL);
  else count(CNT_RECORDS);
}

/* Once the budget is spent, calls and requests are counted, not followed: past the probe's
 * logged operations nothing is matched, and following costs a map update per operation. */
static __always_inline bool spent(void) {
  if (records_sent < record_budget) return false;
  count(CNT_OVER_BUDGET);
  return true;
}

/* Whether a file is the data file (any file when none was named). */
static __always_inline bool is_data_file(struct file *f) {
  if (!file_ino && !file_rdev) return true;
  if (!f) return false;
  if (file_rdev) return BPF_CORE_READ(f, f_inode, i_rdev) == file_rdev;
  return BPF_CORE_READ(f, f_inode, i_ino) == file_ino && BPF_CORE_READ(f, f_inode, i_sb, s_dev) == file_dev;
}

static __always_inline struct file *file_of_fd(int fd) {
  struct task_struct *task = bpf_get_current_task_btf();
  struct fdtable *fdt = task->files->fdt;
  if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds) return 0;
  struct file **table = fdt->fd;
  struct file *f = 0;
  bpf_probe_read_kernel(&f, sizeof(f), &table[fd]);
  return f;
}

/* Whether fd of the current process is the data file, from the cache when it knows. */
static __always_inline bool fd_is_data(__u32 tgid, int fd) {
  if (!file_ino && !file_rdev) return true;
  __u64 key = ((__u64)tgid << 32) | (__u32)fd;
  struct fd_verdict *v = bpf_map_lookup_elem(&fds, &key);
  if (v && v->generation == fd_generation) return v->data;
  struct fd_verdict nv = {fd_generation, is_data_file(file_of_fd(fd))};
  bpf_map_update_elem(&fds, &key, &nv, BPF_ANY);
  return nv.data;
}

/* A descriptor of a traced process changes what it names: its cached verdict goes. */
static __always_inline void fd_changed(__u32 tgid, long id, struct pt_regs *regs) {
  if (id == NR_CLOSE) {
    __u64 key = ((__u64)tgid << 32) | (__u32)SYSCALL_ARG0(regs);
    bpf_map_delete_elem(&fds, &key);
  } else if (id == NR_DUP2 || id == NR_DUP3 || id == NR_CLOSE_RANGE || id == NR_EXECVE) {
    __sync_fetch_and_add(&fd_generation, 1);
  }
}

/* A mark's bytes (a Sentry's copy of them) may lie on a page not yet mapped at the call's entry,
 * which a BPF program cannot fault in: such a call is checked again at its exit. */
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 256); __type(key, __u32); __type(value, __u64); } pending_marks SEC(".maps");

/* Moves the window if the buffer holds a mark; false when the buffer could not be read. */
static __always_inline bool check_mark(__u64 base) {
  char buf[24] = {};
  if (bpf_probe_read_user(buf, sizeof(buf), (void *)base) != 0) return false;
  const char start[] = "{\"mark\":\"measure-start\"";
  const char end[] = "{\"mark\":\"measure-end\"";
  bool is_start = true, is_end = true;
  for (int i = 0; i < 23; i++) is_start = is_start && buf[i] == start[i];
  for (int i = 0; i < 21; i++) is_end = is_end && buf[i] == end[i];
  __u64 now = bpf_ktime_get_ns();
  if (is_start && window == WINDOW_WAITING) {
    window_open_ns = now;
    marks_tgid = bpf_get_current_pid_tgid() >> 32;
    window = WINDOW_OPEN;
  } else if (is_end && window == WINDOW_OPEN) {
    window_close_ns = now;
    window = WINDOW_CLOSED;
  }
  return true;
}

/* The probe's window marks ({"mark":"measure-start"...} on stderr) open and close the window at
 * the probe's own write, with no delay of delivery through a pipe; gVisor's Sentry relays the
 * probe's stderr with sendmsg on a socket (its msghdr's first iovec), seen at the Sentry's call. */
static __always_inline void watch_marks(struct pt_regs *regs, long id) {
  __u64 base = SYSCALL_ARG1(regs), len = SYSCALL_ARG2(regs);
  if (id == NR_SENDMSG) {
    struct { __u64 name; __u64 namelen; __u64 iov; __u64 iovlen; } h = {};
    if (bpf_probe_read_user(&h, sizeof(h), (void *)base) != 0) return;
    base = h.iov;
    len = h.iovlen;
  }
  if (id != NR_WRITE) {
    struct { __u64 base, len; } v = {};
    if (len < 1 || bpf_probe_read_user(&v, sizeof(v), (void *)base) != 0) return;
    base = v.base;
    len = v.len;
  }
  if (len < 20 || check_mark(base)) return;
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  bpf_map_update_elem(&pending_marks, &tid, &base, BPF_ANY);
}

static __always_inline __u64 iov_bytes(__u64 iov, __u64 n) {
  struct { __u64 base, len; } v[4] = {};
  if (n > 4) n = 4;
  __u64 sum = 0;
  for (int i = 0; i < 4; i++) {
    if (i >= n) break;
    if (bpf_probe_read_user(&v[i], sizeof(v[i]), (void *)(iov + i * 16)) != 0) break;
    sum += v[i].len;
  }
  return sum;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id) {
  if (!current_traced()) return 0;
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  fd_changed(tgid, id, regs);
  if (window_by_marks && (id == NR_WRITE || id == NR_WRITEV || id == NR_PWRITEV || id == NR_PWRITEV2 || id == NR_SENDMSG)) watch_marks(regs, id);
  if (!in_window()) return 0;
  __u32 nr = (__u32)id;
  if (nr < TRACE_MAX_SYSCALLS) {
    __u64 *v = bpf_map_lookup_elem(&syscalls, &nr);
    if (v) *v += 1;
  }
  count(CNT_SYSCALLS);
  /* Its name now: a thread named after its first event (QEMU's pool workers, started in the
   * window) keeps the name its role is read from. */
  struct thread_stat *ts = thread_stat_of(bpf_get_current_task_btf(), true);
  if (ts) {
    __sync_fetch_and_add(&ts->n[TS_SYSCALLS], 1);
    bpf_get_current_comm(ts->comm, sizeof(ts->comm));
  }
  __u64 tkey = ((__u64)(__u32)bpf_get_current_pid_tgid() << 32) | nr;
  if (add_one(&thread_syscalls, &tkey) == -7 /* -E2BIG: full */) count(CNT_THREADS_LOST);
  bool plain = id == NR_PREAD64 || id == NR_PWRITE64;
  bool vec = id == NR_PREADV || id == NR_PWRITEV || id == NR_PREADV2 || id == NR_PWRITEV2;
  if (!plain && !vec) return 0;
  int fd = (int)SYSCALL_ARG0(regs);
  if (!fd_is_data(tgid, fd)) return 0;
  count(CNT_IO_CALLS);
  current_count(TS_IO_CALLS);
  if (spent()) return 0;
  struct call_start c = {};
  c.nr = (__s32)id;
  c.fd = fd;
  c.off = SYSCALL_ARG3(regs);
  c.len = plain ? SYSCALL_ARG2(regs) : iov_bytes(SYSCALL_ARG1(regs), SYSCALL_ARG2(regs));
  c.t0 = bpf_ktime_get_ns();
  __u32 tid = (__u32)bpf_get_current_pid_tgid();
  if (bpf_map_update_elem(&calls, &tid, &c, BPF_ANY) != 0) count(CNT_UNFINISHED_LOST);
  return 0;
}

/* The record of a finished host call or io_uring request, from what its start kept. */
static __always_inline void fill_call(struct trace_record *r, __u32 kind, __u32 tid, const struct call_start *c, __s64 ret) {
  r->kind = kind;
  r->tid = tid;
  r->nr = c->nr;
  r->fd = c->fd;
  r->off = c->off;
  r->len = c->len;
  r->t0 = c->t0;
  r->t1 = bpf_ktime_get_ns();
  r->ret = ret;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret) {
  __u64 pt = bpf_get_current_pid_tgid();
  __u32 tid = (__u32)pt;
  __u64 *mark = bpf_map_lookup_elem(&pending_marks, &tid);
  if (mark) {
    check_mark(*mark);
    bpf_map_delete_elem(&pending_marks, &tid);
  }
  struct call_start *c = bpf_map_lookup_elem(&calls, &tid);
  if (!c) return 0;
  struct trace_record r = {};
  fill_call(&r, TRACE_CALL, tid, c, ret);
  bpf_map_delete_elem(&calls, &tid);
  emit(&r);
  return 0;
}

/* io_uring: read and write opcodes (READV, WRITEV, READ_FIXED, WRITE_FIXED, READ, WRITE). */
static __always_inline bool uring_rw(__u8 op) {
  return op == 1 || op == 2 || op == 4 || op == 5 || op == 22 || op == 23;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(io_uring_submit_req, struct io_kiocb *req) {
  if (!in_window() || !current_traced()) return 0;
  __u8 op = req->opcode;
  if (!uring_rw(op)) return 0;
  count(CNT_URING_REQS);
  current_count(TS_URING_REQS);
  if (spent()) return 0;
  struct io_rw *rw = (struct io_rw *)&req->cmd;
  struct call_start c = {};
  c.nr = op;
  c.fd = BPF_CORE_READ(req, cqe.fd);
  c.off = BPF_CORE_READ(rw, kiocb.ki_pos);
  c.len = BPF_CORE_READ(rw, len);
  c.t0 = bpf_ktime_get_ns();
  __u64 key = (__u64)req;
  if (bpf_map_update_elem(&urings, &key, &c, BPF_ANY) != 0) count(CNT_UNFINISHED_LOST);
  return 0;
}

/* The file is known only once the request was issued: checked here, at its completion. */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(io_uring_complete, struct io_ring_ctx *ring, void *req) {
  __u64 key = (__u64)req;
  struct call_start *c = bpf_map_lookup_elem(&urings, &key);
  if (!c) return 0;
  struct io_kiocb *k = req;
  struct trace_record r = {};
  fill_call(&r, TRACE_URING, (__u32)bpf_get_current_pid_tgid(), c, BPF_CORE_READ(k, cqe.res));
  r.aux = BPF_CORE_READ(k, cqe.user_data);
  struct file *f = BPF_CORE_READ(k, cmd.file);
  bpf_map_delete_elem(&urings, &key);
  if (!is_data_file(f)) return 0;
  emit(&r);
  return 0;
}

/* The file offset a disk sector holds, or -1 when the sector is outside the data file. */
static __always_inline __s64 file_offset_of(__u64 sector) {
  for (__u32 i = 0; i < TRACE_MAX_EXTENTS; i++) {
    if (i >= n_extents) break;
    __u32 k = i;
    struct trace_extent *e = bpf_map_lookup_elem(&extents, &k);
    if (!e) break;
    if (sector >= e->sector && sector < e->sector + e->sectors) return (__s64)(e->file_off + (sector - e->sector) * 512);
  }
  return -1;
}

/* A followed request as a record; t1 0: its completion was never seen. */
static __always_inline void emit_request(const struct rq_start *s, __u64 t1, __s64 status) {
  struct trace_record r = {};
  r.kind = TRACE_RQ;
  r.tid = s->tid;
  r.nr = (__s32)s->op;
  r.fd = -1;
  r.off = s->off;
  r.len = s->len;
  r.t0 = s->t0;
  r.t1 = t1;
  r.ret = status;
  r.aux = s->sector;
  emit(&r);
}

/* A request sent back to the queue: it is followed again from its next issue. */
SEC("tp_btf/block_rq_requeue")
int BPF_PROG(block_rq_requeue, struct request *rq) {
  __u64 key = (__u64)rq;
  bpf_map_delete_elem(&rqs, &key);
  return 0;
}

/* Whether a request is on the backing disk: its gendisk once known, its numbers until then. */
static __always_inline bool on_disk(struct request *rq) {
  struct gendisk *disk = rq->q->disk;
  if (!disk) return false;
  if (disk_seen) return (__u64)disk == disk_seen;
  if ((((__u32)disk->major << 20) | (__u32)disk->first_minor) != disk_dev) return false;
  disk_seen = (__u64)disk;
  return true;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq) {
  if (!in_window() || !disk_dev || !on_disk(rq)) return 0;
  count(CNT_RQ_DEVICE);
  __u64 sector = rq->__sector;
  __s64 off = file_offset_of(sector);
  if (off < 0) return 0;
  count(CNT_RQ_FILE);
  if (current_traced()) current_count(TS_RQ_FILE);
  if (spent()) return 0;
  struct rq_start s = {};
  s.t0 = bpf_ktime_get_ns();
  s.sector = sector;
  s.off = (__u64)off;
  s.len = rq->__data_len;
  s.tid = (__u32)bpf_get_current_pid_tgid();
  s.op = rq->cmd_flags & 0xff;
  __u64 key = (__u64)rq;
  /* Still followed: its completion passed unseen, and the request was reused. On Linux 6.18 a
   * loop device's completions reach neither block_rq_complete nor block_io_done for about 1 in
   * 1,000 to 10,000 requests (no recursion miss counted). Kept, with its completion unknown. */
  struct rq_start *old = bpf_map_lookup_elem(&rqs, &key);
  if (old) {
    count(CNT_RQ_UNCOMPLETED);
    emit_request(old, 0, 0);
  }
  if (bpf_map_update_elem(&rqs, &key, &s, BPF_ANY) != 0) count(CNT_UNFINISHED_LOST);
  return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error, unsigned int nr_bytes) {
  __u64 key = (__u64)rq;
  struct rq_start *s = bpf_map_lookup_elem(&rqs, &key);
  if (!s) return 0;
  emit_request(s, bpf_ktime_get_ns(), error);
  bpf_map_delete_elem(&rqs, &key);
  return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next) {
  if (!in_window() || !current_traced()) return 0;
  count(preempt ? CNT_CSW_PREEMPTED : CNT_CSW_VOLUNTARY);
  thread_count(prev, true, preempt ? TS_CSW_PREEMPTED : TS_CSW_VOLUNTARY);
  return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p) {
  if (!in_window() || !task_traced(p)) return 0;
  count(CNT_WAKEUPS);
  thread_count(p, false, TS_WAKEUPS);
  return 0;
}

/* A traced process's children are traced too (a runtime's or VMM's helpers, a shell's exec), and
 * so are the children of a parent named for it, from their fork on: no race with their start. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child) {
  __u32 ptgid = parent->tgid, ctgid = child->tgid;
  if (ptgid != ctgid && (is_traced_tgid(ptgid) || bpf_map_lookup_elem(&parents, &ptgid))) {
    __u8 one = 1;
    bpf_map_update_elem(&traced, &ctgid, &one, BPF_ANY);
  }
  return 0;
}

SEC("tp_btf/irq_handler_entry")
int BPF_PROG(irq_handler_entry, int irq, struct irqaction *action) {
  if (!in_window()) return 0;
  count(CNT_IRQ);
  if (current_traced()) {
    count(CNT_IRQ_TRACED);
    current_count(TS_IRQ);
  }
  return 0;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(softirq_entry, unsigned int vec) {
  if (!in_window()) return 0;
  count(CNT_SOFTIRQ);
  if (current_traced()) {
    count(CNT_SOFTIRQ_TRACED);
    current_count(TS_SOFTIRQ);
  }
  return 0;
}

/* KVM, where it runs: classic tracepoints (their records laid out as their format files say;
 * the loader attaches them only where /sys/kernel/tracing/events/kvm exists). Under TCG none fires. */
SEC("tracepoint/kvm/kvm_exit")
int kvm_exit(void *ctx) {
  if (!in_window() || !current_traced()) return 0;
  count(CNT_KVM_EXITS);
  current_count(TS_KVM_EXITS);
  __u32 reason = 0xffffffff;
  /* A constant offset each (the verifier allows no variable one into a tracepoint's record). */
  switch (kvm_exit_reason_off) {
    case 8: bpf_probe_read_kernel(&reason, 4, (char *)ctx + 8); break;
    case 12: bpf_probe_read_kernel(&reason, 4, (char *)ctx + 12); break;
    case 16: bpf_probe_read_kernel(&reason, 4, (char *)ctx + 16); break;
    case 24: bpf_probe_read_kernel(&reason, 4, (char *)ctx + 24); break;
    default: break;
  }
  add_one(&kvm_exit_reasons, &reason);
  return 0;
}

SEC("tracepoint/kvm/kvm_set_irq")
int kvm_set_irq(void *ctx) {
  if (in_window()) count(CNT_KVM_SET_IRQ);
  return 0;
}

SEC("tracepoint/kvm/kvm_msi_set_irq")
int kvm_msi_set_irq(void *ctx) {
  if (in_window()) count(CNT_KVM_MSI_SET_IRQ);
  return 0;
}

SEC("tracepoint/kvm/kvm_inj_virq")
int kvm_inj_virq(void *ctx) {
  if (!in_window() || !current_traced()) return 0;
  count(CNT_KVM_INJ_VIRQ);
  current_count(TS_KVM_INJ_VIRQ);
  return 0;
}
