// Made-up attributions for the display and gate tests: a result with a split by layer (each band's
// device, host kernel and boundary times) and counts per operation, shaped as lib/trace writes them.
import type { TargetResult } from '../../lib/targets/types';
import type { Attribution, PerOp, Split } from '../../lib/trace/attribution';

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
