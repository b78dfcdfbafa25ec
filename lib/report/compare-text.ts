// The terminal table of a comparison: one block per workload, one line per target. Its columns are
// the metric registry's for the workload's kind (metrics.ts), each written by its entry, the ratio
// beside the kind's rate. By default it fits 120 columns (intervals written once in their
// estimate's unit, the --wide-only metrics left out); `wide` shows every column, intervals in full.
import { groupedWarnings } from './warning-text';
import { verdictLines } from './verdict-text';
import { rowMedian, whereSummary } from './where-text';
import { ciOf, type Comparison, type Row, type WorkloadSummary } from '../compare/compare';
import { KINDS, type ResultKind } from '../compare/kinds';
import { compactInterval, fixedScale, fullInterval } from '../compare/metric-format';
import { columnHead, columnsOf, type Metric, metricDef, type MetricDef, metricDefs, rateMetric } from '../compare/metrics';
import { precisionLines } from '../compare/precision';

export { compactInterval };

/** The widest line of the default table, in columns. */
export const TABLE_COLUMNS = 120;

/** A column of a workload's block: its heading and a row's cell. */
interface Column {
  head: string;
  cell(r: Row): string;
}

/** A metric's cell: in the default table as its entry says (interval or estimate, in its scale); wide, the interval in full. */
function metricCell(m: Metric, wide: boolean): (r: Row) => string {
  const d = metricDef(m);
  const composed = d.column?.cell;
  if (composed) return (r) => composed(rowMedian(r), wide);
  return (r) => {
    const i = ciOf(r, m);
    if (wide) return fullInterval(i, d.format);
    const shown = d.column?.compact === 'interval' ? i : { ...i, low: NaN, high: NaN };
    return d.scale ? compactInterval(shown, d.scale) : fullInterval(shown, d.format);
  };
}

/** Whether a column is shown for these rows: a column of an opt-in measurement only where a row has it. */
export function columnShown(m: Metric, rows: Row[] | undefined): boolean {
  if (!metricDef(m).column?.whenMeasured) return true;
  return !!rows?.some((r) => r.values[m]?.length);
}

function ratioColumn(wide: boolean): Column {
  return wide
    ? { head: 'ratio', cell: (r) => (r.ratio ? fullInterval(r.ratio, (x) => x.toFixed(3)) : r.baseline ? '1 (baseline)' : '-') }
    : { head: 'ratio', cell: (r) => (r.ratio ? compactInterval(r.ratio, fixedScale('', 2)) : r.baseline ? '1 (base)' : '-') };
}

/** The columns of a kind's block: the registry's metrics of the kind, the ratio after its rate, the host cache last. */
export function tableColumns(kind: ResultKind | undefined, wide: boolean, rows?: Row[]): Column[] {
  const cols: Column[] = [];
  for (const m of columnsOf(kind, { wide }).filter((x) => columnShown(x, rows))) {
    cols.push({ head: columnHead(m, kind!, wide), cell: metricCell(m, wide) });
    if (m === rateMetric(kind!)) cols.push(ratioColumn(wide));
  }
  cols.push({ head: 'host cache', cell: (r) => r.hostCache });
  return cols;
}

function label(r: Row, wide: boolean): string {
  return r.target + (r.emulated ? (wide ? ' [EMULATED]' : ' *') : '');
}

const failed = (r: Row) => !!r.error && !r.n;

/** A workload's block: its heading, the columns' heads, a line per target (widths from the widest cell). */
function workloadBlock(s: WorkloadSummary, wide: boolean, labelWidth: number): string[] {
  const cols = tableColumns(s.kind, wide, s.rows);
  const cells = s.rows.map((r) => (failed(r) ? [] : cols.map((c) => c.cell(r))));
  const widths = cols.map((c, i) => Math.max(c.head.length, ...cells.map((x) => x[i]?.length ?? 0)));
  const line = (first: string, xs: string[]) => `  ${first.padEnd(labelWidth)} ${xs.map((x, i) => x.padEnd(widths[i]!)).join(' ')}`.trimEnd();
  const out = ['', `${s.workload}  (${s.kind ?? 'nothing measured'})`, line('target', cols.map((c) => c.head))];
  s.rows.forEach((r, k) => {
    // The reason is in full among the warnings below, failures first; the compact row stays short.
    if (failed(r)) out.push(`  ${label(r, wide).padEnd(labelWidth)} ${wide ? `failed: ${r.error}` : 'failed (the reason is below)'}`);
    else out.push(line(label(r, wide), cells[k]!));
  });
  return out;
}

/**
 * "host/op: ...; xprobe: ...": the columns whose heading does not say it all; each opt-in one's on a
 * line of its own. Two shown columns of one heading (the where of block and of RR rows, each naming
 * its own layers) say whose they are: "where (block): ...", "where (rr): ...".
 */
function legend(wide: boolean, rows: Row[]): string[] {
  const shown = (optIn: boolean) => metricDefs().filter((d) => d.column?.note && !!d.column.whenMeasured === optIn && columnShown(d.name as Metric, rows));
  const head = (d: MetricDef) => columnHead(d.name as Metric, d.kinds[0] ?? 'block', wide);
  const all = [...shown(false), ...shown(true)];
  const say = (d: MetricDef) => {
    const twin = all.some((x) => x !== d && head(x) === head(d));
    return `${head(d)}${twin ? ` (${[...new Set(d.kinds.map((k) => KINDS[k].mode))].join(', ')})` : ''}: ${d.column!.note}`;
  };
  return [shown(false).map(say).join('; '), ...shown(true).map(say)].filter(Boolean);
}

export interface TableOptions {
  /** Every column, intervals in full (about 190 columns). */
  wide?: boolean;
  /** A table of the repetitions so far: said in its heading. */
  partial?: { done: number; of: number };
  /** Every warning in full (by default one line per kind). */
  verbose?: boolean;
}

export function formatComparison(c: Comparison, o: TableOptions = {}): string {
  const wide = o.wide === true;
  const out: string[] = [];
  const reps = o.partial ? `${o.partial.done} of ${o.partial.of} repetitions so far` : `${c.reps} repetitions`;
  out.push(`isoprobe compare: suite ${c.suite}, ${reps}, targets ${c.targets.join(', ')}${c.runId ? ` (run ${c.runId})` : ''}`);
  // The answer first, once the run is complete; the tables follow.
  const verdict = o.partial ? [] : verdictLines(c);
  if (verdict.length) out.push('', ...verdict, '');
  out.push(wide ? 'medians over repetitions with bootstrap 95 % intervals; ratio = rate / rate of the first target'
    : 'median (95 % bootstrap interval) of the repetitions; ratio: rate / the first target\'s; --wide: all columns in full');
  out.push(...legend(wide, c.summaries.flatMap((s) => s.rows)));
  const w = Math.max(8, ...c.summaries.flatMap((s) => s.rows.map((r) => label(r, wide).length)));
  for (const s of c.summaries) out.push(...workloadBlock(s, wide, w));
  const precision = o.partial ? [] : precisionLines(c);
  if (precision.length) out.push('', ...precision.flatMap((l) => wrap(l, TABLE_COLUMNS, '    ')));
  if (!wide && c.summaries.some((s) => s.rows.some((r) => r.emulated))) out.push('', '* emulated: software emulation (QEMU TCG), not the cost on hardware');
  if (!o.partial) out.push(...whereSummary(c));
  if (c.warnings.length) {
    out.push('');
    if (c.notes && !o.verbose) out.push(...groupedWarnings(c.notes, TABLE_COLUMNS));
    else for (const x of c.warnings) out.push(...wrap(`warning: ${x}`, TABLE_COLUMNS, '         '));
  }
  return out.join('\n');
}

/** A line broken at spaces into lines of at most `width` columns, the later ones indented. */
export function wrap(line: string, width: number, indent: string): string[] {
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    const cut = rest.lastIndexOf(' ', width);
    if (cut <= indent.length) break;
    out.push(rest.slice(0, cut));
    rest = indent + rest.slice(cut + 1);
  }
  out.push(rest);
  return out;
}
