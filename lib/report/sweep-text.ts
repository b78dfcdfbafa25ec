// A sweep in the terminal: per target, each point's throughput and latency with intervals, the
// knee marked, and the rule that chose it.
import type { SweepOutcome } from '../compare/load-sweep';
import { formatNs } from '../units';

const rate = (v: number, unit: string) => (!Number.isFinite(v) ? '-' : unit === 'Gbit/s' ? v.toFixed(2) : Math.round(v).toLocaleString('en-US'));

export function formatSweep(s: SweepOutcome): string {
  const { param } = s.spec;
  const out: string[] = [`sweep ${s.spec.workload.kind} over --${param.replace(/_/g, '-')}: ${s.spec.values.join(', ')}  (${s.comparison.reps} repetitions, interleaved)`];
  const ns = (v: number) => formatNs(v, { compact: true });
  const ci = (iv: { estimate: number; low: number; high: number }, f: (v: number) => string) => (Number.isFinite(iv.estimate) ? `${f(iv.estimate)} (${f(iv.low)}-${f(iv.high)})` : '-');
  for (const c of s.curves) {
    const emulated = s.comparison.summaries[0]?.rows.find((r) => r.target === c.target)?.emulated;
    const rows = c.points.map((p, i) => [String(p.value), ci(p.throughput, (v) => rate(v, c.unit)), ci(p.p50, ns), ci(p.p99, ns), c.knee === i ? '<- knee' : '']);
    const head = [param, c.unit, 'p50', 'p99', ''];
    const w = head.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
    const line = (r: string[]) => `  ${r.map((x, k) => x.padEnd(w[k]!)).join('   ')}`.trimEnd();
    out.push('', `${c.target}${emulated ? ' *' : ''}`, line(head), ...rows.map(line));
    if (c.knee === undefined) out.push('  no knee: no point measured a latency');
  }
  out.push('', `knee: ${s.rule}`);
  if (s.comparison.warnings.length) out.push('', ...s.comparison.warnings.map((w) => `warning: ${w}`));
  if (s.comparison.summaries.some((x) => x.rows.some((r) => r.emulated))) out.push('* emulated: software emulation (QEMU TCG), not the cost on hardware');
  return out.join('\n');
}
