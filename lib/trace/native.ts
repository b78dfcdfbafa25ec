// The tracer's part of the addon (native/addon/trace_glue.cc), typed: start a trace, follow more
// processes, move its window, stop it; map a data file to its disk.
import { native } from '../probe/native';

/** One column per field of native/trace/trace_event.h's trace_record, a row per record. */
export interface TraceColumns {
  /** 1 an I/O call, 2 a block request, 3 an io_uring request. */
  kind: Uint8Array;
  tid: Uint32Array;
  /** Syscall number, io_uring opcode, or the request's REQ_OP_*. */
  nr: Int32Array;
  fd: Int32Array;
  /** File offset (a request's: where its first sector lies in the file). */
  off: Float64Array;
  len: Float64Array;
  /** CLOCK_MONOTONIC ns: enter/submit/issue and exit/complete. */
  t0: Float64Array;
  t1: Float64Array;
  ret: Float64Array;
  /** A request's first sector on the disk; an io_uring request's user_data. */
  aux: Float64Array;
}

export const RECORD = { call: 1, request: 2, uring: 3 } as const;

/** The order of trace_event.h's enum trace_counter. */
export const COUNTERS = ['syscalls', 'csw_voluntary', 'csw_preempted', 'wakeups', 'irq', 'irq_traced', 'softirq', 'softirq_traced',
  'rq_device', 'rq_file', 'io_calls', 'uring_reqs', 'records', 'over_budget', 'ringbuf_full', 'unfinished_lost', 'rq_uncompleted',
  'kvm_exits', 'kvm_set_irq', 'kvm_msi_set_irq', 'kvm_inj_virq', 'threads_lost'] as const;
export type CounterName = (typeof COUNTERS)[number];

/** The order of trace_event.h's enum thread_counter: one traced thread's counts. */
export const THREAD_COUNTERS = ['syscalls', 'csw_voluntary', 'csw_preempted', 'wakeups', 'irq', 'softirq', 'io_calls', 'uring_reqs', 'kvm_exits', 'kvm_inj_virq', 'rq_file'] as const;
export type ThreadCounterName = (typeof THREAD_COUNTERS)[number];

/** A traced thread seen in the window: its process, cgroup (0: only seen woken), name when first seen. */
export interface RawThread { tid: number; tgid: number; cgroup: number; comm: string; n: number[] }

export interface RawTrace {
  records: TraceColumns;
  /** [cpu][counter], in COUNTERS order. */
  counters: number[][];
  /** System calls the traced tasks entered in the window, by number. */
  syscalls: number[];
  /** 0 waiting, 1 open, 2 closed; its edges in CLOCK_MONOTONIC ns. */
  window: { state: 0 | 1 | 2; open_ns: number; close_ns: number; marks_pid: number };
  /** A layer or count this kernel could not give, and why. */
  not_traced: string[];
  /**
   * Per program: its runs and their time (the kernel counts them while kernel.bpf_stats_enabled
   * is 1: the tracer's own CPU), and events it missed because it was running already on that CPU.
   */
  programs: Record<string, { run_cnt: number; run_time_ns: number; recursion_misses: number }>;
  /** Per traced thread, in THREAD_COUNTERS order; per thread and system call: [tid, nr, count]. */
  threads: RawThread[];
  thread_syscalls: [number, number, number][];
  /** The traced vCPUs' VM exits by kvm_exit's exit_reason. */
  kvm_exit_reasons: Record<string, number>;
  /** The KVM tracepoints attached (none where the kvm module is not loaded). */
  kvm_attached: string[];
}

export interface FileMapJson {
  ino: number;
  major: number;
  minor: number;
  /** A block device as the data: its device number (0, 0 for a file). */
  rdev_major: number;
  rdev_minor: number;
  disk_major: number;
  disk_minor: number;
  disk: string;
  size: number;
  extents: { sector: number; sectors: number; file_off: number }[];
  /** Why there is no device layer ('' when there is). */
  device_why: string;
}

export interface TraceStartConfig {
  pids: number[];
  parents?: number[];
  cgroupId?: number;
  fileIno?: number;
  fileMajor?: number;
  fileMinor?: number;
  /** A block device as the data: its device number, matched whatever node opened it. */
  rdevMajor?: number;
  rdevMinor?: number;
  diskMajor?: number;
  diskMinor?: number;
  extents?: FileMapJson['extents'];
  windowByMarks?: boolean;
  recordBudget?: number;
  /** The KVM tracepoints to attach (kvm.ts), and kvm_exit's exit_reason offset (0: not read). */
  kvmEvents?: string[];
  kvmExitReasonOffset?: number;
}

export interface TraceAddon {
  /** '' when this build has the tracer, else why not. */
  traceBuilt: string;
  traceStart(c: TraceStartConfig): number;
  traceAddPids(handle: number, pids: number[]): void;
  traceDropParents(handle: number, pids: number[]): void;
  /** Opens (true) or closes (false) the window by hand; returns its state. */
  traceWindow(handle: number, open?: boolean): number;
  traceStop(handle: number): RawTrace;
  traceMapFile(path: string): FileMapJson;
}

export function traceAddon(): TraceAddon {
  return native() as unknown as TraceAddon;
}
