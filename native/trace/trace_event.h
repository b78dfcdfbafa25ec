/* What the tracer's eBPF programs hand the loader: one record layout for every per-operation
 * event and the indices of the window's counters. Plain C, read by the BPF object and by C++. */
#ifndef ISOPROBE_TRACE_EVENT_H
#define ISOPROBE_TRACE_EVENT_H

#ifdef __bpf__
typedef unsigned int trace_u32;
typedef int trace_s32;
typedef unsigned long long trace_u64;
typedef long long trace_s64;
#else
#include <stdint.h>
typedef uint32_t trace_u32;
typedef int32_t trace_s32;
typedef uint64_t trace_u64;
typedef int64_t trace_s64;
#endif

enum trace_kind {
  TRACE_CALL = 1,   /* a pread64/pwrite64/preadv/pwritev/preadv2/pwritev2 of the data file */
  TRACE_RQ = 2,     /* a block request on the backing device inside the data file's extents */
  TRACE_URING = 3,  /* an io_uring read or write of the data file, submission to completion */
};

/* 64 bytes. Times are bpf_ktime_get_ns(): CLOCK_MONOTONIC, the probe's clock on the host. */
struct trace_record {
  trace_u32 kind;
  trace_u32 tid;    /* the calling thread; for requests, the thread current at issue */
  trace_s32 nr;     /* syscall number, io_uring opcode, or the request's operation (REQ_OP_*) */
  trace_s32 fd;     /* the descriptor (calls, io_uring); -1 for requests */
  trace_u64 off;    /* file offset; for requests, the file offset the first sector maps to */
  trace_u64 len;    /* bytes asked (calls, io_uring) or carried (requests) */
  trace_u64 t0;     /* enter, submit or issue */
  trace_u64 t1;     /* exit, completion; 0 for a request whose completion was never seen */
  trace_s64 ret;    /* the call's return, the CQE's res, the request's status */
  trace_u64 aux;    /* requests: the first sector on the disk; io_uring: user_data */
};

/* Counters of the window, one per CPU (a per-CPU array), summed or read per CPU by the loader. */
enum trace_counter {
  CNT_SYSCALLS = 0,     /* system calls entered by the traced tasks */
  CNT_CSW_VOLUNTARY,    /* the traced tasks switched out while blocking */
  CNT_CSW_PREEMPTED,    /* ... while runnable (preempted) */
  CNT_WAKEUPS,          /* wake-ups of the traced tasks */
  CNT_IRQ,              /* hardware interrupt handlers run on this CPU */
  CNT_IRQ_TRACED,       /* ... while a traced task was current */
  CNT_SOFTIRQ,          /* softirq handlers run on this CPU */
  CNT_SOFTIRQ_TRACED,   /* ... while a traced task was current */
  CNT_RQ_DEVICE,        /* block requests issued on the backing device (anyone's) */
  CNT_RQ_FILE,          /* ... inside the data file's extents */
  CNT_IO_CALLS,         /* I/O calls of the traced tasks on the data file */
  CNT_URING_REQS,       /* io_uring reads and writes the traced tasks submitted (any file) */
  CNT_RECORDS,          /* records sent */
  CNT_OVER_BUDGET,      /* calls and requests not followed: the record budget was spent */
  CNT_RINGBUF_FULL,     /* records lost: the ring buffer was full */
  CNT_UNFINISHED_LOST,  /* in-flight table full: a call or request not followed */
  CNT_RQ_UNCOMPLETED,   /* a followed request whose completion was never seen */
  CNT_KVM_EXITS,        /* kvm_exit of the traced tasks (vCPU threads) */
  CNT_KVM_SET_IRQ,      /* kvm_set_irq (anyone's: an irqfd's worker injects for the VMM) */
  CNT_KVM_MSI_SET_IRQ,  /* kvm_msi_set_irq (anyone's) */
  CNT_KVM_INJ_VIRQ,     /* kvm_inj_virq of the traced tasks (vCPU threads) */
  CNT_THREADS_LOST,     /* per-thread tables full: a thread's counts, or a call's name, not kept by role */
  CNT_COUNT
};

#define TRACE_MAX_SYSCALLS 1024
#define TRACE_MAX_EXTENTS 512

/* A followed block request in flight (the loader reads those left at the end). */
struct trace_rq_start {
  trace_u64 t0, sector, off, len;
  trace_u32 tid, op;
};

/* An extent of the data file on the backing disk, in 512-byte sectors of the whole disk. */
struct trace_extent {
  trace_u64 sector;
  trace_u64 sectors;
  trace_u64 file_off; /* bytes */
};

/* Per traced thread, for the counts by role: the loader names the role from the process, the
 * thread's name and its cgroup (lib/cost's classification). */
enum thread_counter {
  TS_SYSCALLS = 0,
  TS_CSW_VOLUNTARY,
  TS_CSW_PREEMPTED,
  TS_WAKEUPS,
  TS_IRQ,         /* hardware interrupts while it was current */
  TS_SOFTIRQ,     /* softirqs while it was current */
  TS_IO_CALLS,    /* its I/O calls on the data file */
  TS_URING_REQS,  /* its io_uring reads and writes (any file) */
  TS_KVM_EXITS,
  TS_KVM_INJ_VIRQ,
  TS_RQ_FILE,     /* block requests on the data file's extents it issued (it was current at issue) */
  TS_COUNT
};

struct thread_stat {
  trace_u32 tgid;
  trace_u32 pad;
  trace_u64 cgroup;  /* its cgroup v2 id when first seen current (0: seen only as woken) */
  char comm[16];     /* its name when first seen */
  trace_u64 n[TS_COUNT];
};

#define TRACE_MAX_THREADS 4096
#define TRACE_MAX_THREAD_SYSCALLS 16384

/* The window: opened and closed by the traced process's own measure marks, or by the loader. */
enum trace_window { WINDOW_WAITING = 0, WINDOW_OPEN = 1, WINDOW_CLOSED = 2 };

#endif
