// The result schema shared by the addon and the static probe (the core serialises both).
import type { BlockOptions } from './option-types';

export interface HistogramJson {
  scheme: 'log-linear';
  sub_bucket_bits: number;
  max_exponent: number;
  count: number;
  min: number;
  max: number;
  sum: number;
  sumsq: number;
  /** Sparse [bucket index, count] pairs, ascending. */
  buckets: [number, number][];
}

export interface LatencyJson {
  count: number;
  min: number;
  mean: number;
  stdev: number;
  max: number;
  percentiles: Record<string, number>;
  histogram: HistogramJson;
}

export interface ClockJson {
  source: 'monotonic' | 'tsc';
  requested: string;
  cost_ns: number;
  resolution_ns: number;
  /** Smallest step seen between consecutive reads: a coarse (jiffies) clock shows here. */
  observed_step_ns: number;
  kernel_clocksource: string;
  tsc_hz?: number;
  calibration_ns?: number;
  max_cpu_skew_ns?: number;
  fallback_reason?: string;
}

export interface EnvJson {
  kernel: string;
  kernel_version: string;
  arch: string;
  cpu_model: string;
  cpus: number;
  hypervisor: string;
  container: string;
  gvisor: boolean;
  hostname: string;
  /** Seccomp mode of the probe process (/proc/self/status): filter inside most containers. */
  seccomp?: 'disabled' | 'strict' | 'filter' | 'unknown';
  /** Effective capabilities of the probe process, hex as in /proc/self/status (0 in containers). */
  cap_eff?: string;
  /** The user the probe ran as (containers: 65534 for network workloads). */
  uid: number;
  /** "qemu-user on an x86-64 host" when user-mode emulation runs the probe, else "". */
  emulation?: string;
}

export interface SeriesPoint {
  t_ns: number;
  dur_ns: number;
  ops: number;
  bytes: number;
  iops: number;
  bw_bytes_per_s: number;
}

export interface CpuJson {
  user_ns: number;
  sys_ns: number;
  /** The measured window's CPU (probes before host-cost accounting lack it). */
  window_ns?: number;
  per_op_ns: number;
  utilization: number;
  ctx_voluntary: number;
  ctx_involuntary: number;
  /** Time the measuring threads waited, runnable, for a CPU over the window (schedstat); null: not kept by this kernel. */
  run_delay_ns?: number | null;
}

export interface ProbeJson {
  version: string;
  build: 'addon' | 'static';
  /** SHA-256 of the probe's own executable (the addon: its shared object), computed by the probe
   * where it ran: inside the container, the sandbox or the guest. The host never writes it. */
  sha256: string;
  /** What was hashed: /proc/self/exe, or the addon's path. */
  sha256_of: string;
  sha256_error?: string;
}

/** The CPUs the measuring threads were pinned to (--cpus) and those sched_getcpu() saw them on. */
export interface PlacementJson {
  pinned: number[];
  ran_on: number[];
  samples: number;
  changes_seen: number;
  /** Network: where isoprobe's own echo server was pinned, when it was. */
  server_pinned?: number[];
}

/** What a block run and each of its jobs count over the measured window. */
export interface BlockCountsJson {
  ops: number;
  bytes: number;
  elapsed_ns: number;
  iops: number;
  bw_bytes_per_s: number;
  latency_ns: LatencyJson;
}

export interface BlockJobJson extends BlockCountsJson {
  job: number;
  offset: number;
  size: number;
  pinned: number;
  ran_on: number[];
  cpu: { user_ns: number; sys_ns: number };
}

export interface BlockResult extends BlockCountsJson {
  schema: number;
  kind: 'block';
  probe: ProbeJson;
  options: BlockOptions;
  file: {
    type: 'file' | 'block';
    size_bytes: number;
    created: boolean;
    owned: boolean;
    laid_out: boolean;
    layout_ns: number;
    dio_mem_align: number;
    dio_offset_align: number;
    dsync_via?: 'O_DSYNC' | 'RWF_DSYNC';
  };
  engine: { name: string; async: boolean; detail: string };
  submit_ns?: LatencyJson;
  complete_ns?: LatencyJson;
  flush_ns?: LatencyJson;
  read?: { ops: number; bytes: number; iops: number; latency_ns: LatencyJson };
  write?: { ops: number; bytes: number; iops: number; latency_ns: LatencyJson };
  series: SeriesPoint[];
  warmup: { ops: number; elapsed_ns: number };
  cpu: CpuJson;
  page_cache: {
    scope: string;
    invalidated: boolean;
    /** The hint each job's descriptor was given (results before it have none). */
    fadvise?: 'random' | 'sequential' | 'none';
    region_bytes: number;
    resident_bytes_before: number;
    resident_bytes_after: number;
  };
  verify: { enabled: boolean; blocks_checked: number; blocks_skipped_racing_writes: number; mismatches: number; first_mismatch_offset?: number; first_mismatch?: string };
  /** Where the measuring threads ran (results before --jobs have none). */
  cpu_placement?: PlacementJson;
  /** Per job, with --jobs above 1: its slice, CPU, counts and own latency histogram. */
  jobs?: BlockJobJson[];
  /** With op_log N: each job's first N measured operations, one by one (parallel arrays). */
  op_log?: OpLogJson;
  clock: ClockJson;
  env: EnvJson;
}

/** Logged operations: a job's in the order they completed, the jobs one after another. */
export interface OpLogJson {
  /** Operations logged (all jobs). */
  ops: number;
  /** The option: each job's first this many. */
  per_job: number;
  offset: number[];
  len: number[];
  /** Start of each, from the earliest job's measured start (ns). */
  start_ns: number[];
  lat_ns: number[];
  /** Each one's job, with several jobs. */
  job?: number[];
  /** 1 for a write, with randrw. */
  write?: number[];
}

export interface ProgressEvent {
  phase: 'layout' | 'warmup' | 'run' | 'verify';
  elapsed_ns: number;
  ops: number;
  iops: number;
  bw_bytes_per_s: number;
}

export interface CoreErrorJson {
  schema: number;
  kind: string;
  error: { code: string; errno: number; syscall: string; option: string; message: string };
}

/** One UDP stream's counts, or all streams' (jitter: their mean). */
export interface UdpStreamCounts {
  sent: number;
  received: number;
  lost: number;
  /** lost / sent, 0 to 1. */
  loss: number;
  out_of_order: number;
  dropped_by_test_hook: number;
  /** RFC 3550 interarrival jitter at the receiver, ns. */
  jitter_ns: number;
  sent_pps: number;
  /** Datagrams received per second of the window. */
  pps: number;
}

export interface NetResult {
  schema: number;
  kind: 'tcp_rr' | 'udp_rr' | 'tcp_stream' | 'udp_stream';
  probe: ProbeJson;
  options: Record<string, unknown> & { mode: string; proto: string; size: number; rate: number; reverse: boolean; duration: number };
  peer: string;
  latency_definition?: string;
  transactions: number;
  warmup_transactions: number;
  elapsed_ns: number;
  bytes_sent: number;
  bytes_received: number;
  tps?: number;
  latency_ns?: LatencyJson;
  bits_per_s?: number;
  counted_at?: string;
  streams?: { bytes: number; bits_per_s: number }[];
  /** udp_stream: what the senders sent in the window and what the receiver counted (net_json.cc). */
  udp_stream?: UdpStreamCounts & { rate: number; warmup_sent: number; streams: UdpStreamCounts[] };
  open_loop?: { rate: number; arrival: string; intended: number; achieved_rate: number; sent_more_than_1ms_late: number; send_lag_ns: LatencyJson; served_rate?: number };
  errors: { mismatches: number; lost: number; late_replies: number };
  series: { t_ns: number; dur_ns: number; ops: number; bytes: number; ops_per_s: number; bits_per_s: number }[];
  cpu: { scope: string; user_ns: number; sys_ns: number; window_ns?: number; per_transaction_ns?: number; per_byte_ns?: number; utilization: number;
    /** The client threads' wait for a CPU over the window (schedstat); null: not kept by this kernel. */
    run_delay_ns?: number | null };
  /** Where the client threads ran (results from before placement have none). */
  cpu_placement?: PlacementJson;
  clock: ClockJson;
  env: EnvJson;
}
