// The gate over block pairs: every workload x metric measured in pairs of A and B blocks is one
// cell; all cells are tested at once by the paired max-T test (sign flips of whole pairs), and a
// cell that shows no significant change is "no regression" only where the test could have found a
// change of the precision asked for; otherwise it is inconclusive, with the change it could find.
import { detectableChange, pairedMaxT } from '../stats/paired';
import type { TargetResult } from '../targets/types';
import { metricOrNaN, workloadDifferences } from './ab';
import { type GateOutcome, gateVerdict, simultaneousChange, tallyVerdicts, thresholdOf } from './gate';
import { gatedMetrics, higherIsWorse, type Metric, metricDef, type ThresholdClass } from './metrics';

/** A pair of blocks of one workload, A (the baseline) and B (the candidate), measured back to back. */
export interface BlockPair {
  workload: string;
  a: TargetResult;
  b: TargetResult;
  /** Which ran first: ABBA alternates it. */
  order: 'AB' | 'BA';
}

export interface PairedGateOptions {
  alpha: number;
  threshold: number;
  classThresholds?: Partial<Record<ThresholdClass, number>>;
  metrics?: Metric[];
  /** The smallest change every cell must be able to find for "no regression" (default: the threshold). */
  precision?: number;
  /** The chance of finding a change of that size (default 0.8). */
  power?: number;
  seed?: number;
  maxPermutations?: number;
}

interface PendingCell {
  workload: string;
  metric: Metric;
  a: number[];
  b: number[];
}

/** The cells of a set of pairs: per workload, each gated metric both sides measured in every pair. */
function cellsOf(pairs: BlockPair[], o: PairedGateOptions, notComparable: string[]): PendingCell[] {
  const byWorkload = new Map<string, BlockPair[]>();
  for (const p of pairs) byWorkload.set(p.workload, [...(byWorkload.get(p.workload) ?? []), p]);
  const cells: PendingCell[] = [];
  for (const [w, ps] of byWorkload) {
    const differ = workloadDifferences(ps[0]!.a, ps[0]!.b);
    if (differ.length) {
      notComparable.push(`${w}: ${differ.join(', ')}`);
      continue;
    }
    const kind = ps[0]!.a.kind;
    for (const m of (o.metrics ?? gatedMetrics(kind)).filter((x) => metricDef(x).kinds.includes(kind as never) && !metricDef(x).perSession)) {
      const a = ps.map((p) => metricOrNaN(p.a, m));
      const b = ps.map((p) => metricOrNaN(p.b, m));
      if (!a.some(Number.isFinite) && !b.some(Number.isFinite)) continue;
      cells.push({ workload: w, metric: m, a, b });
    }
  }
  return cells;
}

/** The paired gate's outcome, in the same shape as the unpaired gate's (the same reports read it). */
export function pairedGate(pairs: BlockPair[], labels: { baseline: string; candidate: string; target: string; candidateTarget: string }, o: PairedGateOptions): GateOutcome {
  const out: GateOutcome = {
    baseline: labels.baseline, candidate: labels.candidate, alpha: o.alpha, threshold: o.threshold, costThreshold: thresholdOf('host_cpu_per_op', o),
    method: '', permutations: 0, cells: [], onlyBaseline: [], onlyCandidate: [], notComparable: [], regressions: 0, improvements: 0, inconclusive: 0,
    precision: o.precision ?? o.threshold,
  };
  const cells = cellsOf(pairs, o, out.notComparable);
  if (!cells.length) return out;
  const mt = pairedMaxT(cells.map((c) => ({ a: c.a, b: c.b, higherIsWorse: higherIsWorse(c.metric) })), { alpha: o.alpha, seed: o.seed, maxPermutations: o.maxPermutations });
  const q = Math.max(mt.qWorse, mt.qBetter);
  out.permutations = mt.permutations;
  out.pairs = Math.max(...mt.pairs);
  out.method = `paired max-T (sign flips of whole pairs, the same for every cell) over ${cells.length} cells and ${out.pairs} ABBA block pairs, ${mt.exact ? 'all' : 'a random sample of'} ${mt.permutations} sign vectors; paired t on log(B/A)`;
  cells.forEach((c, i) => {
    const change = simultaneousChange(mt.delta[i]!, mt.se[i]!, mt.qWorse, mt.qBetter, higherIsWorse(c.metric), o.alpha);
    const detectable = detectableChange(mt.se[i]!, q, o.power ?? 0.8);
    const verdict = gateVerdict(c.metric, change.estimate, mt.pWorse[i]!, mt.pBetter[i]!, { alpha: o.alpha, threshold: thresholdOf(c.metric, o), detectable, precision: o.precision });
    const movedWorse = mt.t[i]! >= 0;
    out.cells.push({
      workload: c.workload, target: labels.target, candidateTarget: labels.candidateTarget, metric: c.metric, baseline: c.a, candidate: c.b,
      change, pWorse: mt.pWorse[i]!, pBetter: mt.pBetter[i]!, p: movedWorse ? mt.pWorse[i]! : mt.pBetter[i]!, verdict, detectable,
    });
  });
  return tallyVerdicts(out);
}
