// The suite-wide A/B gate: every workload x target x metric present on both sides is one cell;
// all cells are tested at once with the max-T permutation test (family-wise false-positive rate
// controlled at alpha), and a cell is a regression when its adjusted p is at most alpha AND its
// geometric-mean ratio moved the worse way by at least the noise threshold (the Firecracker A/B rule: both
// significance and a change that matters). One verdict, one exit code.
import { IsoprobeError } from '../errors';
import { CV_FLOOR, maxT, underpowered } from '../stats/maxt';
import { detectableChange } from '../stats/paired';
import { type Interval, median } from '../stats/resample';
import type { TargetResult } from '../targets/types';
import { metricOrNaN, metricValue, pick, type Side, workloadDifferences } from './ab';
import { kneeCells } from './knee-cells';
import { appliesTo, CLASS_THRESHOLDS, gatedMetrics, higherIsWorse, type Metric, metricDef, type ThresholdClass } from './metrics';

export interface GateCell {
  workload: string;
  /** The baseline's target label, and the candidate's (the same unless two labels are compared). */
  target: string;
  candidateTarget: string;
  metric: Metric;
  baseline: number[];
  candidate: number[];
  /**
   * candidate / baseline as the test sees it: the geometric-mean ratio exp(delta), with the
   * simultaneous interval exp(delta -+ q * SE) whose bounds are the test's critical values each
   * way (level 1 - 2 alpha over all cells): it excludes 1 exactly when the cell is significant.
   */
  change: Interval;
  /** Adjusted (family-wise) p-values, for "the candidate is worse" and "is better". */
  pWorse: number;
  pBetter: number;
  /** The adjusted p of the direction the estimate moved: the one the verdict and the tables speak of. */
  p: number;
  verdict: Verdict;
  /** The smallest change (relative) the test could have found in this cell at its power (paired gate). */
  detectable?: number;
}

/**
 * Significant and past the noise threshold either way; significant but within it; neither, with
 * the precision to say so; or neither, where the test could not have found a change of the
 * precision asked for (inconclusive: not a pass).
 */
export type Verdict = 'regression' | 'improvement' | 'below the noise threshold' | 'no significant change' | 'inconclusive';

export interface GateOutcome {
  baseline: string;
  candidate: string;
  alpha: number;
  threshold: number;
  /** The noise threshold of the host-cost metrics. */
  costThreshold: number;
  /** The noise threshold of the counts per operation (--where). */
  countThreshold?: number;
  method: string;
  permutations: number;
  cells: GateCell[];
  onlyBaseline: string[];
  onlyCandidate: string[];
  notComparable: string[];
  regressions: number;
  improvements: number;
  /** Cells that could not decide at the precision asked for (the paired gate). */
  inconclusive?: number;
  /** The precision asked for, the pairs measured and the pairs discarded as disturbed (the paired gate). */
  precision?: number;
  pairs?: number;
  discarded?: number;
  /** Repetitions a side (the most any cell has) and the cells' median variation between them (sd of log values). */
  reps?: [number, number];
  noise?: number;
}

export interface GateOptions {
  alpha: number;
  threshold: number;
  /** A threshold class's own threshold (--cost-threshold) over the registry's default and --threshold. */
  classThresholds?: Partial<Record<ThresholdClass, number>>;
  metrics?: Metric[];
  workloads?: string[];
  targets?: string[];
  /** Compare the baseline's target `[0]` with the candidate's target `[1]` (ab --run of two variants). */
  pair?: [string, string];
  seed?: number;
  maxPermutations?: number;
  /** Verdicts by step-down max-T (more power where several cells moved; the intervals stay single-step). */
  stepDown?: boolean;
  /**
   * The smallest change a "no significant change" must have been able to find (at power 80 %);
   * a cell that could not is inconclusive. Default: each cell's threshold.
   */
  precision?: number;
}

/** Results of one side by repetition slot: rep index -> result (gaps where a repetition failed). */
function slots(side: Side, rs: TargetResult[]): (TargetResult | undefined)[] {
  const out: (TargetResult | undefined)[] = [];
  rs.forEach((r, i) => {
    out[side.reps?.get(r) ?? i] = r;
  });
  return out;
}

function keyOf(w: string, t: string): string {
  return `${w} on ${t}`;
}

type Thresholds = { threshold: number; classThresholds?: Partial<Record<ThresholdClass, number>> };

/** The noise threshold of a class: the command line's, else the registry's default, else --threshold. */
export function classThreshold(c: ThresholdClass, o: Thresholds): number {
  return o.classThresholds?.[c] ?? CLASS_THRESHOLDS[c] ?? o.threshold;
}

/** The noise threshold a metric's cells are judged by: its class's. */
export function thresholdOf(m: Metric, o: Thresholds): number {
  return classThreshold(metricDef(m).thresholdClass, o);
}

/**
 * Why a metric cannot be tested in a cell: '' when neither side measured it (results from before
 * it existed: nothing to say), a reason when one side lacks it or has one value per session.
 */
function unmeasured(m: Metric, values: number[][], results: TargetResult[][]): string | undefined {
  const has = values.map((vs) => vs.some(Number.isFinite));
  if (!has[0] && !has[1]) return '';
  if (!has[0] || !has[1]) return `measured on the ${has[0] ? 'baseline' : 'candidate'} only (the other side's results predate it or could not measure it)`;
  const def = metricDef(m);
  if (results.some((rs) => rs[0] && def.perSession?.(rs[0]))) {
    const distinct = values.map((vs) => new Set(vs.filter(Number.isFinite)).size);
    if (distinct[0]! < 2 || distinct[1]! < 2) return 'measured once per session (one container start for all repetitions): no spread to test; a VM boots per repetition';
  }
  return undefined;
}

/**
 * Why a metric that can be 0 (no device time, no block request) is not tested: 0 on both sides is
 * no change; a 0 on some repetitions cannot be tested on log values, so the move is said instead.
 */
function zeroValues(m: Metric, values: number[][], zeros: number[]): string | undefined {
  const measured = values.map((vs) => vs.filter(Number.isFinite).length);
  if (zeros[0] === measured[0] && zeros[1] === measured[1]) return '0 on every repetition of both sides: no change to test';
  if (!zeros[0] && !zeros[1]) return undefined;
  const def = metricDef(m);
  const mid = values.map((vs) => { const s = vs.filter(Number.isFinite).sort((a, b) => a - b); return s[s.length >> 1]!; });
  return `0 on ${zeros[0]} baseline and ${zeros[1]} candidate repetitions (the test works on log values): median ${def.format(mid[0]!)} against ${def.format(mid[1]!)}, not tested`;
}

export function suiteGate(b: Side, c: Side, o: GateOptions): GateOutcome {
  const out: GateOutcome = { baseline: b.label, candidate: c.label, alpha: o.alpha, threshold: o.threshold, costThreshold: classThreshold('cost', o), countThreshold: classThreshold('count', o), method: '', permutations: 0, cells: [], onlyBaseline: [], onlyCandidate: [], notComparable: [], regressions: 0, improvements: 0 };
  const wanted = (w: string, t: string) => (!o.workloads || o.workloads.includes(w)) && (!o.targets || o.targets.includes(t));
  // The pairs of (workload, target) compared: the same on both sides, or baseline target -> candidate target.
  const pairs: { w: string; tb: string; tc: string }[] = [];
  for (const [w, byTarget] of b.results) {
    for (const tb of byTarget.keys()) {
      if (o.pair && tb !== o.pair[0]) continue;
      const tc = o.pair ? o.pair[1] : tb;
      if (!wanted(w, tb)) continue;
      if (c.results.get(w)?.has(tc)) pairs.push({ w, tb, tc });
      else out.onlyBaseline.push(keyOf(w, tb));
    }
  }
  for (const [w, byTarget] of c.results) {
    for (const tc of byTarget.keys()) {
      if (o.pair && tc !== o.pair[1]) continue;
      const tb = o.pair ? o.pair[0] : tc;
      if (wanted(w, tb) && !b.results.get(w)?.has(tb)) out.onlyCandidate.push(keyOf(w, tc));
    }
  }
  const cells: Omit<GateCell, 'change' | 'pWorse' | 'pBetter' | 'p' | 'verdict'>[] = [];
  for (const { w, tb, tc } of pairs) {
    const rb = b.results.get(w)!.get(tb)!;
    const rc = c.results.get(w)!.get(tc)!;
    const differ = workloadDifferences(rb[0]!, rc[0]!);
    if (differ.length) {
      out.notComparable.push(`${keyOf(w, tb)}: ${differ.join(', ')}`);
      continue;
    }
    const sb = slots(b, rb);
    const sc = slots(c, rc);
    for (const m of (o.metrics ?? gatedMetrics(rb[0]!.kind)).filter((x) => appliesTo(x, rb[0]!.kind))) {
      const vb = sb.map((r) => (r ? metricOrNaN(r, m) : NaN));
      const vc = sc.map((r) => (r ? metricOrNaN(r, m) : NaN));
      const why = unmeasured(m, [vb, vc], [rb, rc]);
      if (why !== undefined) {
        if (why) out.notComparable.push(`${keyOf(w, tb)} ${m}: ${why}`);
        continue;
      }
      // A value of 0 (or below) is a measurement that failed (no transaction went through), not a change.
      const zeros = [vb, vc].map((vs) => vs.filter((x) => Number.isFinite(x) && x <= 0).length);
      const zeroSaid = metricDef(m).zeroIsValue ? zeroValues(m, [vb, vc], zeros) : undefined;
      if (zeroSaid) {
        out.notComparable.push(`${keyOf(w, tb)} ${m}: ${zeroSaid}`);
        continue;
      }
      if (zeros[0]! || zeros[1]!) {
        out.notComparable.push(`${keyOf(w, tb)} ${m}: failed: ${zeros[0]} baseline and ${zeros[1]} candidate repetitions measured 0 (a failed measurement, not a change)`);
        continue;
      }
      const usable = [vb, vc].map((vs) => vs.filter(usableValue).length);
      if (usable[0]! < 3 || usable[1]! < 3) {
        out.notComparable.push(`${keyOf(w, tb)} ${m}: fewer than 3 repetitions on a side (${usable[0]} and ${usable[1]})`);
        continue;
      }
      cells.push({ workload: w, target: tb, candidateTarget: tc, metric: m, baseline: vb, candidate: vc });
    }
  }
  // Two sweeps: each target's knee as a cell of its own, beside the points.
  if (!o.metrics || o.metrics.includes('knee_throughput')) {
    for (const k of kneeCells(b, c, pairs)) {
      const usable = [k.baseline, k.candidate].map((vs) => vs.filter(usableValue).length);
      if (usable[0]! < 3 || usable[1]! < 3) out.notComparable.push(`${keyOf(k.workload, k.target)}: fewer than 3 whole curves on a side (${usable[0]} and ${usable[1]})`);
      else cells.push(k);
    }
  }
  if (!cells.length) return out;
  const reps: [number, number] = [Math.max(...cells.map((x) => x.baseline.filter(usableValue).length)), Math.max(...cells.map((x) => x.candidate.filter(usableValue).length))];
  const why = underpowered(reps[0], reps[1], o.alpha);
  if (why) throw new IsoprobeError('EUNDERPOWERED', `the gate cannot decide: ${why}`);
  const mt = maxT(cells.map((x) => ({ a: x.baseline, b: x.candidate, higherIsWorse: higherIsWorse(x.metric) })), { seed: o.seed, maxPermutations: o.maxPermutations, alpha: o.alpha });
  out.permutations = mt.permutations;
  out.method = `max-T permutation test (Westfall-Young) over ${cells.length} cells, ${mt.exact ? 'all' : 'a random sample of'} ${mt.permutations} relabellings of whole repetitions, each cell's own shift removed from the reference; Welch's t on log values`;
  out.reps = reps;
  out.noise = median(cells.map((x) => Math.sqrt((logSd(x.baseline) ** 2 + logSd(x.candidate) ** 2) / 2)));
  if (o.stepDown) out.method += '; verdicts and p by step-down max-T, the intervals single-step (a flagged cell\'s interval may still touch 0 %)';
  const [pw, pb] = o.stepDown ? [mt.stepDownWorse, mt.stepDownBetter] : [mt.pWorse, mt.pBetter];
  out.precision = o.precision ?? o.threshold;
  cells.forEach((cell, i) => {
    const se = mt.delta[i] === 0 ? flooredSe(cell.baseline, cell.candidate) : mt.se[i]!;
    const change = simultaneousChange(mt.delta[i]!, se, mt.qWorse, mt.qBetter, higherIsWorse(cell.metric), o.alpha);
    const detectable = detectableChange(se, Math.max(mt.qWorse, mt.qBetter));
    const verdict = gateVerdict(cell.metric, change.estimate, pw[i]!, pb[i]!, { alpha: o.alpha, threshold: thresholdOf(cell.metric, o), detectable, precision: o.precision });
    // The direction the estimate moved, the same one the interval and the verdict speak of.
    const movedWorse = mt.t[i]! >= 0;
    out.cells.push({ ...cell, change, pWorse: pw[i]!, pBetter: pb[i]!, p: movedWorse ? pw[i]! : pb[i]!, verdict, detectable });
  });
  return tallyVerdicts(out);
}

/**
 * The geometric-mean ratio with the interval that matches the test: its "worse" bound is the
 * estimate moved back by qWorse standard errors, its "better" bound by qBetter, so each bound
 * passes 1 exactly when t passes that way's critical value.
 */
export function simultaneousChange(delta: number, se: number, qWorse: number, qBetter: number, higherWorse: boolean, alpha: number): Interval {
  const [down, up] = higherWorse ? [qWorse, qBetter] : [qBetter, qWorse];
  return { estimate: Math.exp(delta), low: Math.exp(delta - down * se), high: Math.exp(delta + up * se), level: 1 - 2 * alpha };
}

/** The standard deviation of the log values of one side (its relative variation between repetitions). */
function logSd(xs: number[]): number {
  const l = xs.filter(usableValue).map(Math.log);
  const m = l.reduce((a, x) => a + x, 0) / l.length;
  return Math.sqrt(l.reduce((a, x) => a + (x - m) ** 2, 0) / Math.max(1, l.length - 1));
}

/**
 * The standard error of a shift of exactly 0 (identical means: counts that are the same on every
 * repetition), which max-T leaves at 1: each side's variance floored as its test floors it.
 */
function flooredSe(a: number[], b: number[]): number {
  const v = (xs: number[]) => Math.max(logSd(xs) ** 2, CV_FLOOR ** 2) / xs.filter(usableValue).length;
  return Math.sqrt(v(a) + v(b));
}

/** A value the test can use: measured, and above 0 (it works on log values). */
function usableValue(x: number): boolean {
  return Number.isFinite(x) && x > 0;
}

/**
 * Both significance (adjusted p at most alpha) and a move of the estimate (the geometric-mean ratio)
 * of at least the threshold the worse (better) way. Given the change the cell could have found
 * (`detectable`), "no significant change" holds only where that is within the precision asked
 * for (default: the threshold); otherwise the cell is inconclusive.
 */
export function gateVerdict(metric: Metric, ratio: number, pWorse: number, pBetter: number, o: { alpha: number; threshold: number; detectable?: number; precision?: number }): Verdict {
  const worseBy = higherIsWorse(metric) ? ratio - 1 : 1 - ratio;
  if (pWorse <= o.alpha && worseBy >= o.threshold) return 'regression';
  if (pBetter <= o.alpha && -worseBy >= o.threshold) return 'improvement';
  if (pWorse <= o.alpha || pBetter <= o.alpha) return 'below the noise threshold';
  return o.detectable !== undefined && o.detectable > (o.precision ?? o.threshold) ? 'inconclusive' : 'no significant change';
}

/** The outcome's counts of regressions, improvements and inconclusive cells, from its cells' verdicts. */
export function tallyVerdicts(out: GateOutcome): GateOutcome {
  out.regressions = out.cells.filter((x) => x.verdict === 'regression').length;
  out.improvements = out.cells.filter((x) => x.verdict === 'improvement').length;
  out.inconclusive = out.cells.filter((x) => x.verdict === 'inconclusive').length;
  return out;
}

/**
 * git bisect run: 0 good, 1 bad (a regression), 125 cannot tell: nothing comparable was measured,
 * or a cell is inconclusive (the test could not have found a change of the precision asked for).
 */
export function gateExitCode(g: GateOutcome): 0 | 1 | 125 {
  if (!g.cells.length) return 125;
  if (g.regressions) return 1;
  return g.inconclusive ? 125 : 0;
}

export function requireComparable(g: GateOutcome): void {
  if (!g.cells.length)
    throw new IsoprobeError('ENOCELLS', `nothing to compare: no workload and target is on both sides with 3 or more repetitions${g.onlyBaseline.length ? `; only in the baseline: ${g.onlyBaseline.join(', ')}` : ''}${g.onlyCandidate.length ? `; only in the candidate: ${g.onlyCandidate.join(', ')}` : ''}${g.notComparable.length ? `; not comparable: ${g.notComparable.join('; ')}` : ''}`);
}

export interface AbOutcome {
  metric: Metric;
  workload: string;
  baseline: { label: string; target: string; values: number[] };
  candidate: { label: string; target: string; values: number[] };
  /** The permutation p-value in the direction the estimate moved. */
  p: number;
  /** candidate / baseline, the geometric-mean ratio, with the simultaneous interval that matches the test. */
  ratio: Interval;
  threshold: number;
  alpha: number;
  verdict: Verdict;
  why: string;
}

/**
 * One workload on one target, one metric: the gate's own rule on a single cell (so a library
 * caller and `isoprobe ab` give the same verdict for the same numbers).
 */
export function abCompare(b: Side, c: Side, o: { metric: Metric; threshold: number; alpha?: number; workload?: string; baselineTarget?: string; candidateTarget?: string; seed?: number }): AbOutcome {
  const alpha = o.alpha ?? 0.01;
  const bs = pick(b, o.workload, o.baselineTarget, 'baseline');
  const cs = pick(c, o.workload ?? bs.workload, o.candidateTarget ?? (o.baselineTarget ?? undefined), 'candidate');
  const differ = workloadDifferences(bs.results[0]!, cs.results[0]!);
  if (differ.length) throw new IsoprobeError('EINVALOPT', `baseline and candidate ran different workloads: ${differ.join(', ')}`, { option: 'candidate' });
  const bv = bs.results.map((r) => metricValue(r, o.metric));
  const cv = cs.results.map((r) => metricValue(r, o.metric));
  if (bv.length < 3 || cv.length < 3) throw new IsoprobeError('EINVALOPT', `--metric ${o.metric}: need at least 3 repetitions on each side (have ${bv.length} and ${cv.length}); use --reps 5 or more`, { option: 'reps' });
  const one = (side: Side, target: string, rs: TargetResult[]): Side => ({ label: side.label, results: new Map([[bs.workload, new Map([[target, rs]])]]), reps: side.reps });
  const g = suiteGate(one(b, bs.target, bs.results), one(c, cs.target, cs.results), { alpha, threshold: o.threshold, metrics: [o.metric], pair: [bs.target, cs.target], seed: o.seed });
  const cell = g.cells[0];
  if (!cell) throw new IsoprobeError('ENOCELLS', `--metric ${o.metric}: nothing to compare: ${g.notComparable.join('; ')}`);
  const p = cell.p;
  const change = (cell.change.estimate - 1) * 100;
  let why = `${o.metric} changed by ${change >= 0 ? '+' : ''}${change.toFixed(1)} % (${Math.round(cell.change.level * 100)} % interval of candidate/baseline, the one the test decides by: ${cell.change.low.toFixed(3)}..${cell.change.high.toFixed(3)}), permutation p = ${p.toPrecision(3)}`;
  if (cell.verdict === 'no significant change') why += `; p is not below ${alpha}`;
  if (cell.verdict === 'below the noise threshold') why += `; significant, but the change does not clear the ${(o.threshold * 100).toFixed(1)} % noise threshold`;
  return { metric: o.metric, workload: bs.workload, baseline: { label: b.label, target: bs.target, values: bv }, candidate: { label: c.label, target: cs.target, values: cv }, p, ratio: cell.change, threshold: o.threshold, alpha, verdict: cell.verdict, why };
}
