// The same suite measured on several nodes (a fleet run), compared by node: for each workload a
// table of nodes x targets, each cell the median over the node's repetitions with its bootstrap
// interval, and each node's ratio to the baseline node on the same target (a bootstrap interval
// of the ratio of medians, as compare's ratios between targets).
import { optionError } from '../errors';
import { type Cell, rateOf, type Row, summarizeCell } from './compare';
import type { ResultKind } from './kinds';

export interface NodeRun {
  /** The node's inventory name, and its groups. */
  node: string;
  groups: string[];
  run: number;
  suite: string;
  reps: number;
  /** The host identity the node measured (hostname, kernel, CPU, architecture). */
  machine: Record<string, unknown>;
  cells: Cell[];
}

export interface NodeTable {
  workload: string;
  /** What its results measured; undefined when no node measured anything. */
  kind?: ResultKind;
  targets: string[];
  nodes: string[];
  baselineNode: string;
  /** node -> target -> its row (ratio against the baseline node's row of that target). */
  rows: Map<string, Map<string, Row>>;
}

/** The tables, workloads and targets in the order the runs name them; `baselineNode` defaults to the first node. */
export function byNode(runs: NodeRun[], baselineNode?: string): NodeTable[] {
  if (!runs.length) return [];
  const base = baselineNode ?? runs[0]!.node;
  if (!runs.some((r) => r.node === base)) throw optionError('baseline_node', `--baseline-node ${base}: not a node of this fleet run; expected one of ${runs.map((r) => r.node).join(', ')}`);
  const ordered = [...runs.filter((r) => r.node === base), ...runs.filter((r) => r.node !== base)];
  const workloads: string[] = [];
  const targets: string[] = [];
  for (const r of ordered) for (const c of r.cells) {
    if (!workloads.includes(c.workload)) workloads.push(c.workload);
    if (!targets.includes(c.target)) targets.push(c.target);
  }
  return workloads.map((w) => {
    const rows = new Map<string, Map<string, Row>>();
    let kind: ResultKind | undefined;
    for (const r of ordered) {
      const m = new Map<string, Row>();
      for (const t of targets) {
        const cell = r.cells.find((c) => c.workload === w && c.target === t) ?? { workload: w, target: t, results: [], error: 'not measured on this node' };
        kind ??= cell.results[0]?.kind;
        const baseRow = r.node === base ? undefined : rows.get(base)?.get(t);
        m.set(t, summarizeCell(cell, baseRow && rateOf(baseRow).values.length ? baseRow : undefined));
      }
      rows.set(r.node, m);
    }
    return { workload: w, kind, targets, nodes: ordered.map((r) => r.node), baselineNode: base, rows };
  });
}
