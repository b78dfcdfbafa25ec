// The precision a comparison reached, per cell: the smallest change of a row's rate against the
// first target's that its repetitions could have found (two-sided 5 %, power 80 %, on log rates,
// normal approximation), so a table of whole repetitions says what its "no difference" is worth.
import { detectableChange, normalQuantile } from '../stats/paired';
import type { Comparison } from './compare';
import { rateMetric } from './metrics';

export interface ReachedPrecision {
  workload: string;
  target: string;
  /** The smallest relative change of the rate this cell could have found; Infinity when too few repetitions. */
  detectable: number;
}

function logVariance(xs: number[]): number {
  const l = xs.filter((x) => x > 0).map(Math.log);
  if (l.length < 2) return NaN;
  const m = l.reduce((s, x) => s + x, 0) / l.length;
  return l.reduce((s, x) => s + (x - m) ** 2, 0) / (l.length - 1);
}

/** Per workload, each target's row against the baseline row: the change its repetitions could find. */
export function reachedPrecision(c: Comparison): ReachedPrecision[] {
  const out: ReachedPrecision[] = [];
  const q = normalQuantile(0.975);
  for (const s of c.summaries) {
    if (!s.kind) continue;
    const m = rateMetric(s.kind);
    const base = s.rows.find((r) => r.baseline);
    const a = base?.values[m] ?? [];
    if (!base || a.length < 2) continue;
    for (const r of s.rows.filter((x) => x !== base && x.n)) {
      const b = r.values[m] ?? [];
      const se = Math.sqrt(logVariance(a) / a.length + logVariance(b) / b.length);
      out.push({ workload: s.workload, target: r.target, detectable: b.length < 2 ? Infinity : detectableChange(se, q) });
    }
  }
  return out;
}

/** "precision reached ..." lines: one per workload, each target's smallest findable change. */
export function precisionLines(c: Comparison): string[] {
  const cells = reachedPrecision(c);
  if (!cells.length) return [];
  const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : 'none (too few repetitions)');
  const byWorkload = new Map<string, string[]>();
  for (const x of cells) byWorkload.set(x.workload, [...(byWorkload.get(x.workload) ?? []), `${x.target} ${pct(x.detectable)}`]);
  return [`precision reached: the smallest change of the rate against ${c.targets[0]} each cell could have found (5 % two-sided, power 80 %)`,
    ...[...byWorkload].map(([w, xs]) => `  ${w}: ${xs.join(', ')}`)];
}
