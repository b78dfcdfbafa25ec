// Made-up attributions for the display and gate tests: a result with a split by layer (each band's
// device, host kernel and boundary times; an RR result's host path, server and boundary) and counts
// per operation, shaped as lib/trace writes them.
import type { TargetResult } from '../../lib/targets/types';
import type { Attribution, PerOp, Split } from '../../lib/trace/attribution';
import type { NetAttribution, NetPerOp, NetSplit } from '../../lib/trace/net-attribution';

export type Layers = [device: number, hostKernel: number, boundary: number];

function split([d, h, b]: Layers): Split {
  const l = d + h + b;
  return { ops: 100, latency_ns: l, device_ns: d, host_kernel_ns: h, boundary_ns: b, shares: { device: d / l, host_kernel: h / l, boundary: b / l } };
}

export const PER_OP: PerOp = {
  syscalls: 1.01, top_syscalls: { pread64: 1, clock_nanosleep: 0.01 }, io_calls: 1, block_requests: 1, csw_voluntary: 1.005, csw_preempted: 0.0002, wakeups: 1.003,
  irq_on_probe_cpus: 0, softirq_on_probe_cpus: 0, irq_interrupting: 0, softirq_interrupting: 0,
};

/** The result with an attribution of these layer times (ns) and counts per operation. */
export function withWhere(r: TargetResult, o: { p50: Layers; p99?: Layers; slow: Layers; perOp?: Partial<PerOp> }): TargetResult {
  const p50 = split(o.p50), p99 = split(o.p99 ?? o.slow), slow = split(o.slow);
  const a: Attribution = {
    method: 'test', window: { ns: 1e9, source: 'probe marks' }, ops_logged: 10_000, matched: 10_000, matched_share: 1, unmatched: { count: 0, first_offsets: [] }, host_calls: 10_000,
    device: { disk: 'vda', extents: 1 }, page_cache_hits: 0, device_unknown: 0,
    layers: {} as Attribution['layers'], split: { p50, p99, slowest_1pct: slow },
    tail: 'device', tail_sentence: 'the tail is the device', per_op: { ...PER_OP, ...o.perOp }, counts: {} as Attribution['counts'], by_role: {}, kvm: { unavailable: 'test' }, not_traced: [], tracer: { recursion_misses: 0 },
  };
  return { ...r, attribution: a } as TargetResult;
}

// --- The same for request/response results (lib/trace/net-attribution.ts): host path, server, boundary.
export type NetLayers = [hostPath: number, server: number, boundary: number];

function netSplit([h, s, b]: NetLayers): NetSplit {
  const l = h + s + b;
  return { ops: 100, latency_ns: l, host_path_ns: h, server_ns: s, boundary_ns: b, shares: { host_path: h / l, server: s / l, boundary: b / l } };
}

export const NET_PER_OP: NetPerOp = { packets: 2, packets_to_server: 1, packets_from_server: 1, empty_segments: 0, server_calls: 2, client_calls: 2 };

/** The RR result with a split of these layer times (ns) and counts per transaction. */
export function withNetWhere(r: TargetResult, o: { p50: NetLayers; p99?: NetLayers; slow: NetLayers; perOp?: Partial<NetPerOp> }): TargetResult {
  const p50 = netSplit(o.p50), p99 = netSplit(o.p99 ?? o.slow), slow = netSplit(o.slow);
  const a: NetAttribution = {
    method: 'test', device: 'veth', window: { ns: 1e9, source: 'probe marks', opened_by: 'start mark', start_mark_late_ns: 0 }, transactions_seen: 10_000, probe_transactions: 10_000,
    matched: 10_000, matched_share: 1, unmatched: { count: 0, note: '' }, layers: {} as NetAttribution['layers'], split: { p50, p99, slowest_1pct: slow },
    tail: 'boundary', tail_sentence: 'the tail is the boundary', per_op: { ...NET_PER_OP, ...o.perOp }, packets_histogram: { 2: 10_000 }, counts: {} as NetAttribution['counts'],
  };
  return { ...r, attribution: a } as TargetResult;
}

/** The RR result as a VM's run leaves it: no split (the client is the guest's), the device's counts per transaction. */
export function withNetCounts(r: TargetResult, why: string, perOp: Partial<NetPerOp> = {}): TargetResult {
  const counts = { per_op: { ...NET_PER_OP, client_calls: 0, ...perOp }, transactions_seen: 300, packets_histogram: { 2: 300 }, host_path_ns: { p50: 20e3, p99: 40e3, mean: 22e3 }, server_ns: { p50: 5e3, p99: 9e3, mean: 5.5e3 } };
  return { ...r, attribution: { unavailable: why, counts } } as TargetResult;
}
