// The terminal table of a comparison: one block per workload, one line per target. By default it
// fits 120 columns (intervals written once in their estimate's unit, no p99.9); `wide` shows
// every column with intervals in full.
import type { Comparison, Row } from '../compare/compare';
import type { Interval } from '../stats/resample';
import { median } from '../stats/resample';
import { formatNs } from '../units';

/** The widest line of the default table, in columns. */
export const TABLE_COLUMNS = 120;

function ci(i: Interval, f: (x: number) => string): string {
  if (!Number.isFinite(i.estimate)) return '-';
  return Number.isFinite(i.low) ? `${f(i.estimate)} [${f(i.low)}, ${f(i.high)}]` : f(i.estimate);
}

function rate(unit: Row['rateUnit']): (x: number) => string {
  return unit === 'Gbit/s' ? (x) => x.toFixed(2) : (x) => Math.round(x).toLocaleString('en-US');
}

/** A scale for a set of values: the divisor and suffix the estimate calls for. */
type Scale = { div: number; unit: string; digits: number };

/** Three significant digits of the scaled estimate (the intervals are wider than that anyway). */
function digits(scaled: number): number {
  const a = Math.abs(scaled);
  return a < 10 ? 2 : a < 100 ? 1 : 0;
}

function nsScale(x: number): Scale {
  const a = Math.abs(x);
  const [div, unit] = a < 1e3 ? [1, 'ns'] : a < 1e6 ? [1e3, 'µs'] : a < 1e9 ? [1e6, 'ms'] : [1e9, 's'];
  return { div: div as number, unit: unit as string, digits: div === 1 ? 0 : digits(x / (div as number)) };
}

function countScale(x: number): Scale {
  const a = Math.abs(x);
  if (a < 1e4) return { div: 1, unit: '', digits: 0 };
  const div = a < 1e6 ? 1e3 : 1e6;
  return { div, unit: div === 1e3 ? 'k' : 'M', digits: digits(x / div) };
}

/** "52.1 (50.2-56.0) µs": an interval with its unit once, in the estimate's scale. */
export function compactInterval(i: Interval, scaleOf: (x: number) => Scale, space = ' '): string {
  if (!Number.isFinite(i.estimate)) return '-';
  const s = scaleOf(i.estimate);
  const f = (x: number) => (x / s.div).toFixed(s.digits);
  const unit = s.unit ? `${space}${s.unit}` : '';
  return Number.isFinite(i.low) ? `${f(i.estimate)} (${f(i.low)}-${f(i.high)})${unit}` : `${f(i.estimate)}${unit}`;
}

const gbitScale = (x: number): Scale => ({ div: 1, unit: '', digits: digits(x) });
const ratioScale = (): Scale => ({ div: 1, unit: '', digits: 2 });

function label(r: Row, wide: boolean): string {
  return r.target + (r.emulated ? (wide ? ' [EMULATED]' : ' *') : '');
}

function wideRow(r: Row): string {
  const p999 = r.p999.length ? formatNs(Math.max(...r.p999.filter(Number.isFinite))) : '-';
  const [, factor] = hostCost(r);
  const op = Number.isFinite(r.hostPerOpCi.estimate) ? ci(r.hostPerOpCi, (x) => (x < 10 ? `${x.toFixed(2)} ns` : formatNs(x))) : '-';
  return `  ${label(r, true).padEnd(25)} ${ci(r.p50ci, formatNs).padEnd(30)} ${ci(r.p99ci, formatNs).padEnd(30)} ${p999.padEnd(10)} ${ci(r.rateCi, rate(r.rateUnit)).padEnd(28)} ${(r.ratio ? ci(r.ratio, (x) => x.toFixed(3)) : r.baseline ? '1 (baseline)' : '-').padEnd(22)} ${op.padEnd(30)} ${factor.padEnd(7)} ${r.hostCache}`;
}

/** The median host CPU per operation ("per byte" for streams), and host CPU over the probe's own. */
function hostCost(r: Row): [string, string] {
  const perOp = r.hostPerOp.length ? median(r.hostPerOp) : NaN;
  const op = !Number.isFinite(perOp) ? '-' : perOp < 10 ? `${perOp.toFixed(2)} ns` : formatNs(perOp, { compact: true });
  return [op, r.overhead.length ? `${median(r.overhead).toFixed(2)}x` : '-'];
}

function compactRow(r: Row, w: number): string {
  const rateText = compactInterval(r.rateCi, r.rateUnit === 'Gbit/s' ? gbitScale : countScale, '');
  const ratio = r.ratio ? compactInterval(r.ratio, ratioScale) : r.baseline ? '1 (base)' : '-';
  const [op, factor] = hostCost(r);
  const p99 = compactInterval({ ...r.p99ci, low: NaN, high: NaN }, nsScale);
  return `  ${label(r, false).padEnd(w)} ${compactInterval(r.p50ci, nsScale).padEnd(19)} ${p99.padEnd(9)} ${rateText.padEnd(17)} ${ratio.padEnd(15)} ${`${op} ${factor}`.padEnd(15)} ${r.hostCache}`;
}

export interface TableOptions {
  /** Every column, intervals in full (about 190 columns). */
  wide?: boolean;
  /** A table of the repetitions so far: said in its heading. */
  partial?: { done: number; of: number };
}

export function formatComparison(c: Comparison, o: TableOptions = {}): string {
  const wide = o.wide === true;
  const out: string[] = [];
  const reps = o.partial ? `${o.partial.done} of ${o.partial.of} repetitions so far` : `${c.reps} repetitions`;
  out.push(`isoprobe compare: suite ${c.suite}, ${reps}, targets ${c.targets.join(', ')}${c.runId ? ` (run ${c.runId})` : ''}`);
  out.push(wide ? 'medians over repetitions with bootstrap 95 % intervals; ratio = rate / rate of the first target'
    : 'median (95 % bootstrap interval) of the repetitions; ratio: rate / the first target\'s; --wide: p99 and p99.9 intervals');
  out.push('host/op: the boundary\'s host CPU per operation (all its roles, the measured window); xprobe: over the probe\'s own CPU');
  const w = Math.max(8, ...c.summaries.flatMap((s) => s.rows.map((r) => label(r, false).length)));
  for (const s of c.summaries) {
    out.push('');
    out.push(`${s.workload}  (${s.kind})`);
    const unit = s.rows[0]?.rateUnit ?? '';
    out.push(wide
      ? `  ${'target'.padEnd(25)} ${'p50 latency'.padEnd(30)} ${'p99'.padEnd(30)} ${'p99.9'.padEnd(10)} ${unit.padEnd(28)} ${'ratio'.padEnd(22)} ${(s.kind === 'stream' ? 'host CPU/byte' : 'host CPU/op').padEnd(30)} ${'xprobe'.padEnd(7)} host cache`
      : `  ${'target'.padEnd(w)} ${'p50 latency'.padEnd(19)} ${'p99'.padEnd(9)} ${unit.padEnd(17)} ${'ratio'.padEnd(15)} ${(s.kind === 'stream' ? 'host/B xprobe' : 'host/op xprobe').padEnd(15)} host cache`);
    for (const r of s.rows) {
      // The reason is in full among the warnings below, failures first; the compact row stays short.
      if (r.error && !r.p50.length) out.push(`  ${label(r, wide).padEnd(wide ? 25 : w)} ${wide ? `failed: ${r.error}` : 'failed (the reason is below)'}`);
      else out.push(wide ? wideRow(r) : compactRow(r, w));
    }
  }
  if (!wide && c.summaries.some((s) => s.rows.some((r) => r.emulated))) out.push('', '* emulated: software emulation (QEMU TCG), not the cost on hardware');
  if (c.warnings.length) {
    out.push('');
    for (const x of c.warnings) out.push(`warning: ${x}`);
  }
  return out.join('\n');
}
