// Change points over a whole history of runs (one value per run), the way CI performance systems
// find them: binary segmentation (as E-Divisive in MongoDB's CI, and Hunter, do) with a
// permutation test of the best split in each segment. A split is the one that best separates the
// mean log values before and after it (Student's t with the two parts' pooled variance); its p is
// the share of shuffles of the segment whose best split is at least as strong. With no change
// anywhere, the chance that the history gets any flag at all is at most alpha: only a rejected
// first test leads to further ones.
import { rng } from './resample';

export interface ChangePoint {
  /** The first index of the new segment. */
  index: number;
  /** The permutation p of the split within the segment it was found in. */
  p: number;
}

export interface ChangePointOptions {
  alpha: number;
  /** The fewest runs on each side of a split (so a split rests on many runs, not a neighbour). */
  minSegment?: number;
  permutations?: number;
  seed?: number;
}

/** The best split of xs[s..e) and its |t|, from prefix sums (O(n) per segment). */
function bestSplit(xs: readonly number[], m: number): { k: number; t: number } {
  const n = xs.length;
  let sum = 0;
  let sq = 0;
  for (const x of xs) {
    sum += x;
    sq += x * x;
  }
  let best = { k: -1, t: 0 };
  let ls = 0;
  let lq = 0;
  for (let k = 1; k < n; k++) {
    ls += xs[k - 1]!;
    lq += xs[k - 1]! * xs[k - 1]!;
    if (k < m || n - k < m) continue;
    const nl = k;
    const nr = n - k;
    const ml = ls / nl;
    const mr = (sum - ls) / nr;
    const ss = lq - nl * ml * ml + (sq - lq) - nr * mr * mr;
    const v = Math.max(ss / (n - 2), 1e-12) * (1 / nl + 1 / nr);
    const t = Math.abs(mr - ml) / Math.sqrt(v);
    if (t > best.t) best = { k, t };
  }
  return best;
}

/** The permutation p of a segment's best split; stops early once it can no longer reach alpha. */
function splitP(xs: readonly number[], m: number, t: number, o: Required<ChangePointOptions>, r: () => number): number {
  const a = [...xs];
  let reach = 1;  // the observed order counts
  const limit = Math.floor(o.alpha * (o.permutations + 1));
  for (let b = 1; b <= o.permutations; b++) {
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    if (bestSplit(a, m).t >= t - 1e-12) reach++;
    if (reach > limit + 1) return reach / (b + 1);  // not significant: the exact value does not matter
  }
  return reach / (o.permutations + 1);
}

/** The change points of a series of positive values (per-run medians), in index order. */
export function changePoints(values: readonly number[], opts: ChangePointOptions): ChangePoint[] {
  const o: Required<ChangePointOptions> = { minSegment: 5, permutations: 999, seed: 1, ...opts };
  const logs = values.map((v) => (v > 0 && Number.isFinite(v) ? Math.log(v) : NaN));
  if (logs.some(Number.isNaN)) throw new Error('changePoints: every value must be positive and finite');
  const r = rng(o.seed);
  const found: ChangePoint[] = [];
  const todo: [number, number][] = [[0, logs.length]];
  while (todo.length) {
    const [s, e] = todo.pop()!;
    if (e - s < 2 * o.minSegment) continue;
    const seg = logs.slice(s, e);
    const { k, t } = bestSplit(seg, o.minSegment);
    if (k < 0) continue;
    const p = splitP(seg, o.minSegment, t, o, r);
    if (p > o.alpha) continue;
    found.push({ index: s + k, p });
    todo.push([s, s + k], [s + k, e]);
  }
  return found.sort((a, b) => a.index - b.index);
}
