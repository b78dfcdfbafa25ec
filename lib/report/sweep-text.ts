// A sweep in the terminal: per target, each point's throughput and latency with intervals, the
// knee marked, and the rule that chose it.
import type { SweepOutcome } from '../compare/load-sweep';
import { compactInterval, nsScale, plainScale } from '../compare/metric-format';
import { metricDef } from '../compare/metrics';

export function formatSweep(s: SweepOutcome): string {
  const { param } = s.spec;
  const out: string[] = [`sweep ${s.spec.workload.kind} over --${param.replace(/_/g, '-')}: ${s.spec.values.join(', ')}  (${s.comparison.reps} repetitions, interleaved)`];
  for (const c of s.curves) {
    // The throughput in its metric's scale (metrics.ts), the latencies in nanoseconds' own.
    const scale = (c.metric && metricDef(c.metric).scale) || plainScale;
    const emulated = s.comparison.summaries[0]?.rows.find((r) => r.target === c.target)?.emulated;
    const rows = c.points.map((p, i) => [String(p.value), compactInterval(p.throughput, scale), compactInterval(p.p50, nsScale), compactInterval(p.p99, nsScale), c.knee === i ? '<- knee' : '']);
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
