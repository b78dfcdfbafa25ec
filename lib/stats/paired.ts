// The paired max-T test: many cells compared at once between A and B measured in pairs of blocks
// close in time (ABBA), so the drift a machine has over seconds falls on both members of a pair and
// cancels in their difference. The relabellings flip the sign of whole pairs (A and B swap within
// a pair), the same flips for every cell, so the cells' correlation is kept and the family-wise
// false-positive rate is controlled (Westfall and Young's max-T, one-sided each way). With n pairs
// there are 2^n relabellings: 7 pairs already reach p = 1/128 < 0.01 (5 vs 5 unpaired: 1/252).
import { rng } from './resample';
import { CV_FLOOR } from './maxt';

/** One cell: per pair, A's and B's values (NaN where a pair has none). */
export interface PairedCell {
  a: number[];
  b: number[];
  higherIsWorse: boolean;
}

export interface PairedResult {
  /** Per cell: the paired t of log(b/a), oriented (> 0: b worse), its mean and standard error. */
  t: number[];
  delta: number[];
  se: number[];
  /** Per cell: pairs that had both values. */
  pairs: number[];
  pWorse: number[];
  pBetter: number[];
  /** The (1 - alpha) points of the largest statistic over the cells, each way, under the flips. */
  qWorse: number;
  qBetter: number;
  permutations: number;
  exact: boolean;
}

/** The smallest adjusted p with n pairs: only the observed signs are as extreme. */
export function smallestPairedP(n: number): number {
  return 1 / 2 ** n;
}

/** The fewest pairs whose smallest p is at most alpha. */
export function pairsNeeded(alpha: number): number {
  let n = 1;
  while (smallestPairedP(n) > alpha) n++;
  return n;
}

const loggable = (x: number) => Number.isFinite(x) && x > 0;

/** Per cell, the log ratios of its complete pairs, with their slots. */
function logRatios(c: PairedCell): { slot: number; d: number }[] {
  const out: { slot: number; d: number }[] = [];
  for (let i = 0; i < Math.min(c.a.length, c.b.length); i++) if (loggable(c.a[i]!) && loggable(c.b[i]!)) out.push({ slot: i, d: Math.log(c.b[i]!) - Math.log(c.a[i]!) });
  return out;
}

/** Mean, standard error (floored at the probe's resolution) and t of paired differences. */
export function pairedT(ds: readonly number[]): { mean: number; se: number; t: number } {
  const n = ds.length;
  if (n < 2) return { mean: n ? ds[0]! : 0, se: Infinity, t: 0 };
  const mean = ds.reduce((s, x) => s + x, 0) / n;
  const v = Math.max(ds.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1), CV_FLOOR ** 2);
  const se = Math.sqrt(v / n);
  return { mean, se, t: mean / se };
}

/**
 * Adjusted p-values for every cell, one-sided each way, over sign flips of whole pairs. The
 * reference is built from each cell's differences with its own mean removed (the shift method), so
 * a cell that truly moved does not widen the others' reference. Exact up to `maxPermutations`.
 */
export function pairedMaxT(cells: PairedCell[], o: { maxPermutations?: number; seed?: number; alpha?: number } = {}): PairedResult {
  const n = Math.max(0, ...cells.map((c) => Math.min(c.a.length, c.b.length)));
  const rs = cells.map(logRatios);
  const est = rs.map((r) => pairedT(r.map((x) => x.d)));
  const sign = cells.map((c) => (c.higherIsWorse ? 1 : -1));
  const t = est.map((e, c) => sign[c]! * e.t);
  const centred = rs.map((r, c) => r.map((x) => ({ slot: x.slot, d: x.d - est[c]!.mean })));
  const limit = o.maxPermutations ?? 20_000;
  const exact = 2 ** n <= limit;
  const ups: number[] = [Infinity];
  const downs: number[] = [Infinity];
  const flips = new Int8Array(n);
  const visit = () => {
    let up = -Infinity;
    let down = -Infinity;
    for (let c = 0; c < cells.length; c++) {
      const s = sign[c]! * pairedT(centred[c]!.map((x) => (flips[x.slot] ? -x.d : x.d))).t;
      up = Math.max(up, s);
      down = Math.max(down, -s);
    }
    ups.push(up);
    downs.push(down);
  };
  if (exact) {
    // Every sign vector but the observed one (all zeros), counted as a binary number.
    for (let k = 1; k < 2 ** n; k++) {
      for (let i = 0; i < n; i++) flips[i] = (k >> i) & 1;
      visit();
    }
  } else {
    const r = rng(o.seed ?? 1);
    for (let k = 1; k < limit; k++) {
      for (let i = 0; i < n; i++) flips[i] = r() < 0.5 ? 1 : 0;
      visit();
    }
  }
  const share = (maxima: number[], x: number) => maxima.filter((m) => m >= x - 1e-12).length / maxima.length;
  const alpha = o.alpha ?? 0.01;
  const critical = (maxima: number[]) => {
    const sorted = [...maxima].sort((x, y) => x - y);
    return sorted[sorted.length - Math.floor(alpha * sorted.length + 1e-9) - 1] ?? Infinity;
  };
  return {
    t, delta: est.map((e) => e.mean), se: est.map((e) => e.se), pairs: rs.map((r) => r.length),
    pWorse: t.map((x) => share(ups, x)), pBetter: t.map((x) => share(downs, -x)),
    qWorse: critical(ups), qBetter: critical(downs), permutations: ups.length, exact,
  };
}

/** The standard normal quantile (Acklam's rational approximation; |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549671010243209, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * The smallest relative change a cell could be found to have, at the test's family-wise critical
 * value and the given power: exp((q + z_power) x se) - 1. A cell whose detectable change is above
 * the precision asked for cannot say "no regression": it is inconclusive.
 */
export function detectableChange(se: number, q: number, power = 0.8): number {
  if (!Number.isFinite(se) || !Number.isFinite(q)) return Infinity;
  return Math.expm1((q + normalQuantile(power)) * se);
}
