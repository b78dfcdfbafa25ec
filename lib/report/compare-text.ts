// The terminal table of a comparison: one block per workload, one line per target.
import type { Comparison, Row } from '../compare/compare';
import type { Interval } from '../stats/resample';
import { formatNs } from '../units';

function ci(i: Interval, f: (x: number) => string): string {
  if (!Number.isFinite(i.estimate)) return '-';
  return Number.isFinite(i.low) ? `${f(i.estimate)} [${f(i.low)}, ${f(i.high)}]` : f(i.estimate);
}

function rate(unit: Row['rateUnit']): (x: number) => string {
  return unit === 'Gbit/s' ? (x) => x.toFixed(2) : (x) => Math.round(x).toLocaleString('en-US');
}

export function formatComparison(c: Comparison): string {
  const out: string[] = [];
  out.push(`isoprobe compare: suite ${c.suite}, ${c.reps} repetitions, targets ${c.targets.join(', ')}${c.runId ? ` (run ${c.runId})` : ''}`);
  out.push('medians over repetitions with bootstrap 95 % intervals; ratio = rate / rate of the first target');
  for (const s of c.summaries) {
    out.push('');
    out.push(`${s.workload}  (${s.kind})`);
    out.push(`  ${'target'.padEnd(25)} ${'p50 latency'.padEnd(30)} ${'p99'.padEnd(30)} ${'p99.9'.padEnd(10)} ${s.rows[0]?.rateUnit.padEnd(28) ?? ''} ${'ratio'.padEnd(22)} host cache`);
    for (const r of s.rows) {
      if (r.error && !r.p50.length) {
        out.push(`  ${(r.target + (r.emulated ? ' [EMULATED]' : '')).padEnd(25)} failed: ${r.error}`);
        continue;
      }
      const p999 = r.p999.length ? formatNs(Math.max(...r.p999.filter(Number.isFinite))) : '-';
      out.push(`  ${(r.target + (r.emulated ? ' [EMULATED]' : '')).padEnd(25)} ${ci(r.p50ci, formatNs).padEnd(30)} ${ci(r.p99ci, formatNs).padEnd(30)} ${p999.padEnd(10)} ${ci(r.rateCi, rate(r.rateUnit)).padEnd(28)} ${(r.ratio ? ci(r.ratio, (x) => x.toFixed(3)) : r.baseline ? '1 (baseline)' : '-').padEnd(22)} ${r.hostCache}`);
    }
  }
  if (c.warnings.length) {
    out.push('');
    for (const w of c.warnings) out.push(`warning: ${w}`);
  }
  return out.join('\n');
}
