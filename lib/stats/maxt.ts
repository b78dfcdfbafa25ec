// The Westfall-Young max-T permutation test: many cells (workload x target x metric) compared at
// once between two groups of repetitions, with the family-wise false-positive rate controlled.
// Whole repetitions are permuted between the groups, the same relabelling for every cell (so the
// cells' correlation is kept); a cell's adjusted p-value is the share of relabellings whose
// largest statistic over all cells reaches the cell's own. Unlike Holm over per-cell exact
// p-values (which cannot go below 1/C(n, k): 1/252 for 5 vs 5, far above alpha/25), the smallest
// adjusted p-value is 1/C(n, k) whatever the number of cells.
import { rng } from './resample';

/** One cell: its positive values per repetition slot (NaN where a repetition has none), for the two groups. */
export interface MaxTCell {
  a: number[];
  b: number[];
  /** Latencies: a larger value is worse; rates: a smaller one is. */
  higherIsWorse: boolean;
}

/**
 * Statistics below this relative spread are treated as this spread: the resolution the values
 * really have (one bucket of the probe's histogram is 1/256 = 0.39 % wide, so percentiles cannot
 * be told apart more finely than that).
 */
export const CV_FLOOR = 1 / 256;

/** Welch's t of b against a on log values, oriented: > 0 when b is worse. */
export function welchLog(a: readonly number[], b: readonly number[], higherIsWorse = true): number {
  return welchOfLogs(a.filter(loggable).map(Math.log), b.filter(loggable).map(Math.log), higherIsWorse);
}

function loggable(x: number): boolean {
  return Number.isFinite(x) && x > 0;
}

/** Welch's t of values already on the log scale (every one finite). */
function welchOfLogs(la: number[], lb: number[], higherIsWorse: boolean): number {
  if (la.length < 2 || lb.length < 2) return 0;
  const m = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const v = (xs: number[], mu: number) => Math.max(xs.reduce((s, x) => s + (x - mu) ** 2, 0) / (xs.length - 1), CV_FLOOR ** 2);
  const ma = m(la);
  const mb = m(lb);
  return ((higherIsWorse ? 1 : -1) * (mb - ma)) / Math.sqrt(v(la, ma) / la.length + v(lb, mb) / lb.length);
}

function* combinations(n: number, k: number): Generator<number[]> {
  const c = Array.from({ length: k }, (_, i) => i);
  for (;;) {
    yield c;
    let i = k - 1;
    while (i >= 0 && c[i] === n - k + i) i--;
    if (i < 0) return;
    c[i]!++;
    for (let j = i + 1; j < k; j++) c[j] = c[j - 1]! + 1;
  }
}

/**
 * The smallest adjusted p a permutation test over whole repetitions can give with nA and nB of
 * them: 1 / C(nA + nB, nA) (only the observed labelling is as extreme). Above alpha, no change,
 * however large, can ever be flagged.
 */
export function smallestP(nA: number, nB: number): number {
  return 1 / binom(nA + nB, nA);
}

/** The fewest repetitions a side (the same on both) whose smallest p is at most alpha. */
export function repsNeeded(alpha: number): number {
  let n = 2;
  while (smallestP(n, n) > alpha) n++;
  return n;
}

/** Why a test with these repetitions cannot decide at alpha, or undefined when it can. */
export function underpowered(nA: number, nB: number, alpha: number): string | undefined {
  const p = smallestP(nA, nB);
  if (p <= alpha) return undefined;
  return `with ${nA} and ${nB} repetitions the smallest p the permutation test can reach is 1/${Math.round(1 / p)} = ${p.toPrecision(2)}, above alpha ${alpha}: no change, however large, could be flagged; at alpha ${alpha} it needs at least ${repsNeeded(alpha)} repetitions a side`;
}

function binom(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}

export interface MaxTResult {
  /** Per cell: the observed statistic (> 0: worse in b) and the adjusted p-values for "b worse" and "b better". */
  t: number[];
  pWorse: number[];
  pBetter: number[];
  /** Per cell: the shift of mean log values, b - a (exp(delta) is the geometric-mean ratio b/a), and its standard error. */
  delta: number[];
  se: number[];
  /**
   * The (1 - alpha) points of the largest statistic over all cells, each way, under the same
   * relabellings of the data with every cell's own shift removed: a cell is significantly worse
   * exactly when t > qWorse (its pWorse <= alpha), better exactly when -t > qBetter.
   */
  qWorse: number;
  qBetter: number;
  /**
   * Step-down adjusted p-values (Westfall and Young's step-down max-T): the cell with the k-th
   * strongest statistic is compared with the largest statistic over it and the weaker cells only,
   * and p never falls below a stronger cell's. Never above pWorse / pBetter; more power where
   * several cells truly moved. Its verdicts need not follow the single-step intervals.
   */
  stepDownWorse: number[];
  stepDownBetter: number[];
  /** Relabellings used: every one (exact) or a random sample including the observed one. */
  permutations: number;
  exact: boolean;
}

/**
 * Step-down counting for one direction: `order` lists the cells strongest first by `obs`; per
 * relabelling, the running maximum from the weakest cell up is compared with each cell's own.
 */
class StepDown {
  readonly reach: number[];
  private readonly order: number[];
  constructor(private readonly obs: number[]) {
    this.order = obs.map((_, i) => i).sort((a, b) => obs[b]! - obs[a]!);
    this.reach = obs.map(() => 0);
  }

  /** One relabelling's statistics (oriented the same way as obs); Infinity everywhere for the observed one. */
  add(stats: number[]): void {
    let u = -Infinity;
    for (let j = this.order.length - 1; j >= 0; j--) {
      const c = this.order[j]!;
      u = Math.max(u, stats[c]!);
      if (u >= this.obs[c]! - 1e-12) this.reach[c]!++;
    }
  }

  /** Adjusted p-values, made monotone down the order (a weaker cell's never below a stronger one's). */
  pValues(count: number): number[] {
    const p = this.reach.map((r) => r / count);
    for (let j = 1; j < this.order.length; j++) p[this.order[j]!] = Math.max(p[this.order[j]!]!, p[this.order[j - 1]!]!);
    return p;
  }
}

/** Mean, Welch's t (oriented: > 0 when b is worse) and standard error of b - a on log values. */
function shiftOf(la: number[], lb: number[], higherIsWorse: boolean): { delta: number; se: number; t: number } {
  if (la.length < 2 || lb.length < 2) return { delta: 0, se: Infinity, t: 0 };
  const m = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const delta = m(lb) - m(la);
  const up = welchOfLogs(la, lb, true);  // b - a over its standard error
  return { delta, se: delta === 0 ? 1 : Math.abs(delta / up), t: higherIsWorse ? up : -up };
}

/** The value a statistic must exceed for at most alpha of the relabellings' maxima to reach it. */
function criticalValue(maxima: number[], alpha: number): number {
  const sorted = [...maxima].sort((x, y) => x - y);
  const k = Math.floor(alpha * sorted.length + 1e-9);
  return sorted[sorted.length - k - 1] ?? Infinity;
}

/**
 * Adjusted p-values for every cell, one-sided each way, and the critical values of the matching
 * simultaneous intervals. nA and nB are the repetition slots of each group; every cell has values
 * for the same slots. The reference distribution is built from the data with each cell's own
 * estimated shift removed (Westfall and Young's shift method): a cell that truly moved does not
 * widen the reference for the others (a strong improvement, relabelled, would otherwise look like
 * a strong regression). The observed labelling counts as reaching every cell, so no p is below
 * 1 / C(nA + nB, nA). Exact when there are at most `maxPermutations` relabellings.
 */
export function maxT(cells: MaxTCell[], o: { maxPermutations?: number; seed?: number; alpha?: number } = {}): MaxTResult {
  const nA = Math.max(0, ...cells.map((c) => c.a.length));
  const nB = Math.max(0, ...cells.map((c) => c.b.length));
  const n = nA + nB;
  // Log values once per cell (NaN where a slot has no usable value), not once per relabelling.
  const logs = cells.map((c) => [...c.a, ...Array(nA - c.a.length).fill(NaN), ...c.b, ...Array(nB - c.b.length).fill(NaN)].map((x: number) => (loggable(x) ? Math.log(x) : NaN)));
  const est = logs.map((p, c) => shiftOf(p.slice(0, nA).filter((x) => !Number.isNaN(x)), p.slice(nA).filter((x) => !Number.isNaN(x)), cells[c]!.higherIsWorse));
  const t = est.map((e) => e.t);
  const centred = logs.map((p, c) => p.map((x, i) => (i < nA ? x : x - est[c]!.delta)));
  const total = binom(n, nA);
  const limit = o.maxPermutations ?? 20_000;
  const exact = total <= limit;
  const ups: number[] = [];
  const downs: number[] = [];
  const sdWorse = new StepDown(t);
  const sdBetter = new StepDown(t.map((x) => -x));
  const inA = new Uint8Array(n);
  const stats = new Array<number>(cells.length);
  const visit = (groupA: readonly number[], observed: boolean) => {
    if (observed) {
      ups.push(Infinity);
      downs.push(Infinity);
      stats.fill(Infinity);
      sdWorse.add(stats);
      sdBetter.add(stats);
      return;
    }
    inA.fill(0);
    for (const i of groupA) inA[i] = 1;
    for (const [c, p] of centred.entries()) {
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < n; i++) if (!Number.isNaN(p[i])) (inA[i] ? a : b).push(p[i]!);
      stats[c] = welchOfLogs(a, b, cells[c]!.higherIsWorse);
    }
    ups.push(Math.max(...stats));
    downs.push(Math.max(...stats.map((x) => -x)));
    sdWorse.add(stats);
    sdBetter.add(stats.map((x) => -x));
  };
  const isObserved = (g: readonly number[]) => g.every((x, i) => x === i);
  if (exact) {
    for (const g of combinations(n, nA)) visit(g, isObserved(g));
  } else {
    const r = rng(o.seed ?? 1);
    visit([], true);
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let k = 1; k < limit; k++) {
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(r() * (i + 1));
        [idx[i], idx[j]] = [idx[j]!, idx[i]!];
      }
      visit(idx.slice(0, nA), false);
    }
  }
  const share = (maxima: number[], x: number) => maxima.filter((m) => m >= x - 1e-12).length / maxima.length;
  const alpha = o.alpha ?? 0.01;
  return {
    t, pWorse: t.map((x) => share(ups, x)), pBetter: t.map((x) => share(downs, -x)),
    delta: est.map((e) => e.delta), se: est.map((e) => e.se),
    qWorse: criticalValue(ups, alpha), qBetter: criticalValue(downs, alpha),
    stepDownWorse: sdWorse.pValues(ups.length), stepDownBetter: sdBetter.pValues(downs.length),
    permutations: ups.length, exact,
  };
}
