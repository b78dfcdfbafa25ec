// A fleet's comparison by node, for people: per workload, a row per node and a column per target,
// each cell the median rate over the node's repetitions, its p50, and the ratio to the baseline
// node on the same target with its bootstrap 95 % interval.
import type { NodeRun, NodeTable } from '../compare/by-node';
import { ciOf, rateOf, type Row } from '../compare/compare';
import { formatMetric } from '../compare/metrics';

export function rateText(r: Row): string {
  const rate = rateOf(r);
  return rate.metric ? formatMetric(rate.metric, rate.ci.estimate) : '-';
}

/** One cell: "12,345 IOPS p50 80.1 µs 0.98x [0.95, 1.01]", or why there is none. */
export function nodeCellText(r: Row | undefined, baseline: boolean): string {
  if (!r || !rateOf(r).values.length) return `- (${r?.error ?? 'no results'})`;
  // One repetition a side has a ratio but no interval.
  const interval = (i: NonNullable<Row['ratio']>) => (Number.isFinite(i.low) && Number.isFinite(i.high) ? ` [${i.low.toFixed(2)}, ${i.high.toFixed(2)}]` : ' [no interval: one repetition]');
  const ratio = r.ratio ? ` ${r.ratio.estimate.toFixed(2)}x${interval(r.ratio)}` : baseline ? ' (baseline)' : '';
  return `${rateText(r)} p50 ${formatMetric('p50', ciOf(r, 'p50').estimate)}${ratio}${r.emulated ? ' EMULATED' : ''}`;
}

/**
 * A by-node table's failures, each named once under the table and pointed to from its cells
 * (one message on every node of a fleet would bury the numbers): the note number of a cell
 * without results, counted from 1.
 */
export class FailureNotes {
  readonly list: string[] = [];

  of(r: Row | undefined): number {
    const why = r?.error ?? 'no results';
    if (!this.list.includes(why)) this.list.push(why);
    return this.list.indexOf(why) + 1;
  }
}

/** The node identities: name, groups, and what each measured of itself. */
export function nodeIdentityLines(runs: NodeRun[]): string[] {
  return runs.map((r) => {
    const m = r.machine as { hostname?: string; kernel?: string; cpu?: string; cpus?: number };
    return `  ${r.node.padEnd(12)} run ${String(r.run).padEnd(5)} ${r.groups.length ? `groups ${r.groups.join(',')}; ` : ''}host ${m.hostname ?? '?'}, kernel ${m.kernel ?? '?'}, ${m.cpus ?? '?'} x ${m.cpu ?? '?'}`;
  });
}

export function formatNodeTables(tables: NodeTable[], runs: NodeRun[]): string {
  const out = ['nodes:', ...nodeIdentityLines(runs)];
  for (const t of tables) {
    out.push('', `${t.workload} (${t.kind ?? 'nothing measured'}): median over repetitions, ratio to ${t.baselineNode} on the same target [95 % CI]`);
    const notes = new FailureNotes();
    const cell = (r: Row | undefined, base: boolean) => (r && rateOf(r).values.length ? nodeCellText(r, base) : `- (failed [${notes.of(r)}])`);
    const cells = t.nodes.map((n) => [n === t.baselineNode ? `${n} *` : n, ...t.targets.map((x) => cell(t.rows.get(n)?.get(x), n === t.baselineNode))]);
    const head = ['node', ...t.targets];
    const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const line = (c: string[]) => `  ${c.map((x, i) => x.padEnd(widths[i]!)).join('  ')}`.trimEnd();
    out.push(line(head), ...cells.map(line), ...notes.list.map((n, i) => `  [${i + 1}] ${n}`));
  }
  return out.join('\n');
}
