// Where the time of a block run went, from a host trace of its window and the probe's own log:
// per operation the device (its requests' issue to completion), the host kernel (the host call
// carrying it, minus the device) and the boundary (the probe's latency minus that call); the split
// at p50, p99 and over the slowest 1 %, and the window's mechanism counts per operation.
import type { BlockResult } from '../probe/types';
import { bandMean, bandOf, layerSummary, type LayerSummary, tailOf } from './bands';
import { countsByRole, type RoleCounts, type RoleKey, type RoleScope } from './by-role';
import { type HostCall, hostCalls, type Matched, matchOps } from './match';
import { COUNTERS, type CounterName } from './native';
import { syscallName } from './syscalls';
import type { TraceWindow } from './tracer';

export type { LayerSummary };


/** The mean of each layer over a band of operations ranked by their probe latency. */
export interface Split {
  ops: number;
  latency_ns: number;
  device_ns: number;
  host_kernel_ns: number;
  boundary_ns: number;
  /** Each layer's share of latency_ns. */
  shares: { device: number; host_kernel: number; boundary: number };
}

export type Layer = 'device' | 'host kernel' | 'boundary';

export interface Attribution {
  /** What was traced, and how the window was bounded. */
  method: string;
  /**
   * 'probe marks': the probe's own mark writes, seen in the kernel; 'relayed marks': the marks as
   * the session received them (a VM's frames), each edge late by its delivery. `probe_ns`: the
   * probe's own measured time, so a relayed window's excess (ns - probe_ns) is in view: counts
   * that grow with time (a main loop's polls) are over by that share, those tied to operations not.
   */
  window: { ns: number; source: WindowSource; probe_ns?: number };
  /** The probe's logged operations, and how many were matched to a host call by offset. */
  ops_logged: number;
  matched: number;
  matched_share: number;
  /** Operations with no host call at their offset, not estimated: the split covers the matched ones only. */
  unmatched: { count: number; first_offsets: number[]; note?: string };
  /** Host I/O calls on the data file in the window (more than logged when the run outlived its log). */
  host_calls: number;
  /** The device layer: the disk whose requests were followed, or why there is none. */
  device: { disk: string; extents: number } | { unavailable: string };
  /** Matched operations with no device request: served by the host's page cache. */
  page_cache_hits: number;
  /** Matched operations with a device request whose completion the kernel did not show: no split. */
  device_unknown: number;
  layers: { probe_ns: LayerSummary; host_call_ns: LayerSummary; device_ns: LayerSummary; host_kernel_ns: LayerSummary; boundary_ns: LayerSummary };
  split: { p50: Split; p99: Split; slowest_1pct: Split };
  /** The layer that grows most from the p50 band to the slowest 1 %. */
  tail: Layer;
  tail_sentence: string;
  /** Over the window, divided by the probe's measured operations. */
  per_op: PerOp;
  /** The window's raw counts. */
  counts: Record<CounterName, number> & { syscalls_by_name: Record<string, number> };
  /** The counts per operation by role (lib/cost's roles; `other`: traced, outside the target's scope). */
  by_role: Partial<Record<RoleKey, RoleCounts>>;
  /** KVM's counts per operation, or why there are none (the kvm module not loaded: TCG). */
  kvm: KvmCounts | { unavailable: string };
  not_traced: string[];
  /** The tracer's own cost: its programs' CPU, when the kernel counted it (kernel.bpf_stats_enabled). */
  tracer: TracerCost;
}

export type WindowSource = 'probe marks' | 'relayed marks' | 'manual';

export interface KvmCounts {
  /** The tracepoints attached: kvm_exit, kvm_set_irq, kvm_msi_set_irq, kvm_inj_virq where present. */
  attached: string[];
  exits: number;
  /** By kvm_exit's exit_reason (the vendor's number; 4294967295: not read). */
  exits_by_reason: Record<string, number>;
  set_irq: number;
  msi_set_irq: number;
  inj_virq: number;
}

/** What a trace gives when no operation could be split: the window's counts. */
export type MechanismCounts = Pick<Attribution, 'method' | 'window' | 'per_op' | 'counts' | 'by_role' | 'kvm' | 'not_traced' | 'tracer'>;

export interface TracerCost {
  /** Its programs' CPU over the whole trace, the warm-up included (they run for every process). */
  cpu_ns?: number;
  /** Divided by the operations of the warm-up and the window. */
  cpu_per_op_ns?: number;
  /** Why there is no CPU figure. */
  cpu_unknown?: string;
  /** Events the programs missed because one was running already on that CPU. */
  recursion_misses: number;
}

export interface PerOp {
  syscalls: number;
  top_syscalls: Record<string, number>;
  io_calls: number;
  block_requests: number;
  csw_voluntary: number;
  csw_preempted: number;
  wakeups: number;
  /** On the CPUs the probe ran on (its cpu_placement.ran_on). */
  irq_on_probe_cpus: number;
  softirq_on_probe_cpus: number;
  /** Those that interrupted the probe's own threads. */
  irq_interrupting: number;
  softirq_interrupting: number;
}

/**
 * The split, or why there is none; where the trace ran but no operation could be matched (a VM's
 * or gVisor's calls at other offsets), `counts` still holds the window's mechanism counts.
 */
export type AttributionField = Attribution | { unavailable: string; counts?: MechanismCounts };

/** Means over operations ranked [from, to) by probe latency (fractions of the matched count). */
function band(m: Matched, ranked: number[], from: number, to: number): Split {
  const pick = bandOf(ranked, from, to);
  const mean = (f: (op: number) => number) => bandMean(pick, f);
  const latency = mean((op) => m.probe[op]!);
  const device = mean((op) => m.device[op]!);
  const hostKernel = mean((op) => m.hostCall[op]! - m.device[op]!);
  const boundary = mean((op) => m.probe[op]! - m.hostCall[op]!);
  const share = (x: number) => (latency > 0 ? x / latency : 0);
  return { ops: pick.length, latency_ns: latency, device_ns: device, host_kernel_ns: hostKernel, boundary_ns: boundary,
    shares: { device: share(device), host_kernel: share(hostKernel), boundary: share(boundary) } };
}

function splitTail(p50: Split, slow: Split): { tail: Layer; sentence: string } {
  return tailOf<Layer>([['device', slow.device_ns - p50.device_ns], ['host kernel', slow.host_kernel_ns - p50.host_kernel_ns], ['boundary', slow.boundary_ns - p50.boundary_ns]], p50.latency_ns, slow.latency_ns);
}

function countsOf(w: TraceWindow): Attribution['counts'] {
  const sum = (k: number) => w.counters.reduce((s, c) => s + (c[k] ?? 0), 0);
  const byName: Record<string, number> = {};
  w.syscalls.forEach((v, nr) => {
    if (v) byName[syscallName(nr)] = v;
  });
  return { ...(Object.fromEntries(COUNTERS.map((n, k) => [n, sum(k)])) as Record<CounterName, number>), syscalls_by_name: byName };
}

function perOp(w: TraceWindow, counts: Attribution['counts'], ops: number, cpus: number[]): PerOp {
  const on = (name: CounterName) => cpus.reduce((s, c) => s + (w.counters[c]?.[COUNTERS.indexOf(name)] ?? 0), 0) / ops;
  const top = Object.entries(counts.syscalls_by_name).sort((a, b) => b[1] - a[1]).slice(0, 5);
  return {
    syscalls: counts.syscalls / ops,
    top_syscalls: Object.fromEntries(top.map(([n, v]) => [n, v / ops])),
    io_calls: (counts.io_calls + counts.uring_reqs) / ops,
    block_requests: counts.rq_file / ops,
    csw_voluntary: counts.csw_voluntary / ops,
    csw_preempted: counts.csw_preempted / ops,
    wakeups: counts.wakeups / ops,
    irq_on_probe_cpus: on('irq'),
    softirq_on_probe_cpus: on('softirq'),
    irq_interrupting: counts.irq_traced / ops,
    softirq_interrupting: counts.softirq_traced / ops,
  };
}

function tracerCost(w: TraceWindow, ops: number): TracerCost {
  const ps = Object.values(w.programs);
  const misses = ps.reduce((s, p) => s + p.recursion_misses, 0);
  if (!ps.some((p) => p.run_cnt > 0)) return { cpu_unknown: 'kernel.bpf_stats_enabled was 0: the kernel did not time the programs', recursion_misses: misses };
  const ns = ps.reduce((s, p) => s + p.run_time_ns, 0);
  return { cpu_ns: ns, cpu_per_op_ns: ns / ops, recursion_misses: misses };
}

/** The reason a trace cannot be attributed to this result, or undefined. */
function unattributable(w: TraceWindow, r: BlockResult): string | undefined {
  if (!r.op_log?.ops) return 'the result has no op_log to match (run the workload with op_log)';
  if (w.window.state === 0) return 'the tracer never saw the probe open its measured window (its measure-start mark)';
  if (w.window.state === 1) return 'the tracer never saw the probe close its measured window (its measure-end mark)';
  return undefined;
}

/** Why operations can go unmatched, for the window's kind. */
function unmatchedNote(source: WindowSource): string {
  const relayed = source === 'relayed marks' ? '; or they ran before the relayed mark opened the window (the first operations) ' : '';
  return `no host I/O call on the data file at their offset: served inside the boundary (a guest's page cache, a Sentry's cache) or past the record budget${relayed}; not estimated, the split covers the matched operations only`;
}

const METHOD = 'host eBPF trace (BTF tracepoints sys_enter/sys_exit, io_uring, block_rq_issue/complete, sched, irq)';

function kvmOf(w: TraceWindow, counts: Attribution['counts'], ops: number): Attribution['kvm'] {
  if (!w.kvm_attached?.length) return { unavailable: w.not_traced.find((n) => n.startsWith('KVM count')) ?? 'no KVM tracepoint was attached' };
  return {
    attached: w.kvm_attached,
    exits: counts.kvm_exits / ops,
    exits_by_reason: Object.fromEntries(Object.entries(w.kvm_exit_reasons ?? {}).map(([k, v]) => [k, v / ops])),
    set_irq: counts.kvm_set_irq / ops,
    msi_set_irq: counts.kvm_msi_set_irq / ops,
    inj_virq: counts.kvm_inj_virq / ops,
  };
}

/** The window's mechanism counts per operation, overall and by role. */
export function mechanism(w: TraceWindow, r: BlockResult, source: WindowSource, scope?: RoleScope): MechanismCounts {
  const counts = countsOf(w);
  return {
    method: METHOD,
    window: { ns: w.window.close_ns - w.window.open_ns, source, probe_ns: r.elapsed_ns },
    per_op: perOp(w, counts, r.ops, r.cpu_placement?.ran_on ?? []),
    counts,
    by_role: countsByRole(w.threads ?? [], w.thread_syscalls ?? [], scope, r.ops, w.window.marks_pid ?? 0),
    kvm: kvmOf(w, counts, r.ops),
    not_traced: [...w.not_traced, ...(counts.threads_lost ? [`${counts.threads_lost} counts of threads not kept by role (the per-thread tables were full): by_role counts fewer than the totals`] : [])],
    tracer: tracerCost(w, r.ops + (r.warmup?.ops ?? 0)),
  };
}

export function attribute(w: TraceWindow, r: BlockResult, source: WindowSource = 'probe marks', scope?: RoleScope): AttributionField {
  const why = unattributable(w, r);
  if (why) return { unavailable: why };
  const log = r.op_log!;
  const calls: HostCall[] = hostCalls(w.records);
  const m = matchOps(log, w.records, calls);
  const matchedOps = m.call.map((c, op) => (c >= 0 ? op : -1)).filter((op) => op >= 0);
  const mech = mechanism(w, r, source, scope);
  if (!matchedOps.length) {
    const inside = calls.length === 0
      ? source === 'relayed marks'
        ? ': the traced processes made no I/O call on it in the window, so every operation was served inside the boundary (the guest\'s or the Sentry\'s own cache)'
        : ': no traced process made an I/O call on it in the window (the process doing the I/O was not followed)'
      : '';
    return { unavailable: `none of the ${log.ops} logged operations met a host I/O call on ${w.file} at its offset (${calls.length} calls traced)${inside}; nothing is split, the counts are the window's`, counts: mech };
  }
  const known = matchedOps.filter((op) => !Number.isNaN(m.device[op]));
  const ranked = [...known].sort((a, b) => m.probe[a]! - m.probe[b]!);
  const pick = (f: (op: number) => number) => known.map(f);
  const split = { p50: band(m, ranked, 0.495, 0.505), p99: band(m, ranked, 0.985, 0.995), slowest_1pct: band(m, ranked, 0.99, 1) };
  const { tail, sentence } = splitTail(split.p50, split.slowest_1pct);
  const counts = mech.counts;
  const unmatched = m.call.map((c, op) => (c < 0 ? log.offset[op]! : -1)).filter((o) => o >= 0);
  const lost = counts.over_budget + counts.ringbuf_full + counts.unfinished_lost;
  return {
    method: mech.method,
    window: mech.window,
    ops_logged: log.ops,
    matched: matchedOps.length,
    matched_share: matchedOps.length / log.ops,
    unmatched: { count: unmatched.length, first_offsets: unmatched.slice(0, 10), ...(unmatched.length ? { note: unmatchedNote(source) } : {}) },
    host_calls: calls.length,
    device: w.map.device_why ? { unavailable: w.map.device_why } : { disk: w.map.disk, extents: w.map.extents.length },
    page_cache_hits: known.filter((op) => m.requests[op] === 0).length,
    device_unknown: matchedOps.length - known.length,
    layers: {
      probe_ns: layerSummary(pick((op) => m.probe[op]!)),
      host_call_ns: layerSummary(pick((op) => m.hostCall[op]!)),
      device_ns: layerSummary(pick((op) => m.device[op]!)),
      host_kernel_ns: layerSummary(pick((op) => m.hostCall[op]! - m.device[op]!)),
      boundary_ns: layerSummary(pick((op) => m.probe[op]! - m.hostCall[op]!)),
    },
    split,
    tail,
    tail_sentence: sentence,
    per_op: mech.per_op,
    counts,
    by_role: mech.by_role,
    kvm: mech.kvm,
    // Records past the budget are expected when the window outlives the log; they matter only
    // when operations went unmatched.
    tracer: mech.tracer,
    not_traced: [...mech.not_traced, ...(lost && unmatched.length ? [`${lost} records not kept (budget ${counts.over_budget}, ring buffer full ${counts.ringbuf_full}, in-flight table full ${counts.unfinished_lost}): operations among them are unmatched`] : [])],
  };
}
