// A block result's split by layer for people: where its p50, p99 and slowest 1 % went (device,
// host kernel, boundary), the sentence about its tail, and the mechanism counts per operation.
import type { AttributionField, Split } from '../trace/attribution';
import { formatNs } from '../units';

function band(label: string, s: Split): string {
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  return `${label} ${formatNs(s.latency_ns)} = device ${formatNs(s.device_ns)} (${pct(s.shares.device)}) + host kernel ${formatNs(s.host_kernel_ns)} (${pct(s.shares.host_kernel)}) + boundary ${formatNs(s.boundary_ns)} (${pct(s.shares.boundary)})`;
}

export function whereLines(a: AttributionField): string[] {
  if ('unavailable' in a) return [`  where       unavailable: ${a.unavailable}`];
  const p = a.per_op;
  const top = Object.entries(p.top_syscalls).filter(([, v]) => v >= 0.005).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ');
  return [
    `  where       ${band('p50 band', a.split.p50)}`,
    `              ${band('p99 band', a.split.p99)}`,
    `              ${band('slowest 1 %', a.split.slowest_1pct)}`,
    `              ${a.tail_sentence}`,
    `              ${a.matched} of ${a.ops_logged} operations matched to a host call${a.page_cache_hits ? `, ${a.page_cache_hits} served by the host page cache` : ''}`,
    `  per op      ${p.syscalls.toFixed(2)} syscalls (${top || 'none'}), ${p.block_requests.toFixed(2)} block requests, ${p.wakeups.toFixed(2)} wake-ups`,
    `              ${p.csw_voluntary.toFixed(2)} voluntary + ${p.csw_preempted.toFixed(2)} preempted context switches, ${p.irq_on_probe_cpus.toFixed(2)} IRQs on the probe's CPUs`,
  ];
}
