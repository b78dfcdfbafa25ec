// The answer first: what a comparison found, in a few plain lines before the tables. Per target
// against the baseline (the first target with results): the rate ratios whose 95 % interval
// excludes 1, largest first, the largest clear difference in host CPU per operation, the host cache verdict,
// emulation; then what it could not tell apart, and what failed. Every line within 120 columns.
import { ciOf, type Comparison, type Row, type WorkloadSummary } from '../compare/compare';
import { KINDS } from '../compare/kinds';

const WIDTH = 120;

/** Items packed into lines of at most WIDTH columns, the first after `head`, the rest indented. */
export function pack(head: string, items: string[], indent = 4): string[] {
  const out: string[] = [];
  let line = head;
  for (const [i, item] of items.entries()) {
    const piece = `${item}${i < items.length - 1 ? ';' : ''}`;
    if (line.length + 1 + piece.length > WIDTH && line.trim().length) {
      out.push(line);
      line = `${' '.repeat(indent)}${piece}`;
    } else line = line.endsWith(' ') || !line ? `${line}${piece}` : `${line} ${piece}`;
  }
  if (line.trim()) out.push(line);
  return out;
}

const x = (v: number) => (v >= 10 ? v.toFixed(0) : v.toFixed(2));

interface Finding {
  target: string;
  text: string;
  size: number;
}

function rateName(s: WorkloadSummary): string {
  return s.kind ? KINDS[s.kind].rate.toUpperCase().replace('GBPS', 'Gbit/s').replace('TPS', 'tx/s') : 'rate';
}

/** The host CPU per operation against the baseline's, where their intervals do not overlap. */
function cpuFinding(s: WorkloadSummary, r: Row): Finding | undefined {
  const base = s.rows.find((y) => y.baseline);
  const [b, v] = [base && ciOf(base, 'host_cpu_per_op'), ciOf(r, 'host_cpu_per_op')];
  if (!b || !(b.estimate > 0) || !Number.isFinite(v.estimate) || !(v.low > b.high || v.high < b.low)) return undefined;
  const e = v.estimate / b.estimate;
  return { target: r.target, size: Math.abs(Math.log(e)), text: `${x(e)}x the host CPU per ${s.kind?.endsWith('stream') ? 'byte' : s.kind?.endsWith('rr') ? 'round trip' : 'operation'} on ${s.workload}` };
}

function findings(c: Comparison): { clear: Finding[]; unclear: string[]; cache: Finding[]; cpu: Finding[] } {
  const clear: Finding[] = [];
  const unclear: string[] = [];
  const cache: Finding[] = [];
  const cpu: Finding[] = [];
  for (const s of c.summaries) {
    for (const r of s.rows) {
      if (r.baseline || r.error) continue;
      const f = cpuFinding(s, r);
      if (f) cpu.push(f);
      if (!r.ratio || !Number.isFinite(r.ratio.estimate)) continue;
      const { estimate: e, low, high } = r.ratio;
      if (low > 1 || high < 1) clear.push({ target: r.target, size: Math.abs(Math.log(e)), text: `${x(e)}x the ${rateName(s)} on ${s.workload} [${x(low)}-${x(high)}]` });
      else unclear.push(`${r.target} on ${s.workload}`);
      if (r.hostCache.includes('used')) cache.push({ target: r.target, size: 0, text: `host page cache used on ${s.workload}` });
    }
  }
  return { clear: clear.sort((a, b) => b.size - a.size), unclear, cache, cpu: cpu.sort((a, b) => b.size - a.size) };
}

function failures(c: Comparison): string[] {
  const by = new Map<string, string[]>();
  for (const s of c.summaries) for (const r of s.rows.filter((y: Row) => y.error)) {
    const short = r.error!.split(/[:(]/)[0]!.trim();
    const key = `${s.workload} on ${r.target} (${short})`;
    by.set(key, [...(by.get(key) ?? []), key]);
  }
  return [...by.keys()];
}

/** The summary lines; empty when there is nothing to say (one target, no result). */
export function verdictLines(c: Comparison): string[] {
  const base = c.summaries.flatMap((s) => s.rows.filter((r) => r.baseline).map((r) => r.target))[0];
  if (!base) return [];
  const { clear, unclear, cache, cpu } = findings(c);
  const out = [`What this run found, against ${base} (ratios of rates, higher is faster; [95 % interval]):`];
  const emulated = new Set(c.summaries.flatMap((s) => s.rows.filter((r) => r.emulated).map((r) => r.target)));
  for (const t of c.targets.filter((y) => y !== base)) {
    // The rates ranked by size, then the largest clear difference in host CPU per operation (one,
    // to keep it a few lines; the tables have every workload's), then the host cache.
    const items = [...clear.filter((f) => f.target === t), ...cpu.filter((f) => f.target === t).slice(0, 1), ...cache.filter((f) => f.target === t)].map((f) => f.text);
    if (!items.length) continue;
    out.push(...pack(`  ${t}${emulated.has(t) ? ' (emulated: TCG)' : ''}:`, items));
  }
  if (unclear.length) out.push(...pack('  not told apart from the baseline (intervals hold 1):', unclear));
  const failed = failures(c);
  if (failed.length) out.push(...pack('  failed:', failed));
  return out.length > 1 ? out : [];
}
