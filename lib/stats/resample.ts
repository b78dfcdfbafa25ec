// Bootstrap confidence intervals and permutation tests over per-repetition values, with a seeded
// generator so a report can be reproduced exactly.

/** mulberry32: small, fast, good enough for resampling; the same seed gives the same stream. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

export function stdev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

function resample(xs: readonly number[], r: () => number): number[] {
  return xs.map(() => xs[Math.floor(r() * xs.length)]!);
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface Interval {
  estimate: number;
  low: number;
  high: number;
  level: number;
}

export interface ResampleOptions {
  reps?: number;
  level?: number;
  seed?: number;
}

/** Percentile-bootstrap interval of a statistic of one sample. */
export function bootstrap(xs: readonly number[], stat: (xs: readonly number[]) => number = median, o: ResampleOptions = {}): Interval {
  const reps = o.reps ?? 4000;
  const level = o.level ?? 0.95;
  const r = rng(o.seed ?? 1);
  const est = stat(xs);
  if (xs.length < 2) return { estimate: est, low: NaN, high: NaN, level };
  const boots = Array.from({ length: reps }, () => stat(resample(xs, r))).sort((a, b) => a - b);
  return { estimate: est, low: quantile(boots, (1 - level) / 2), high: quantile(boots, 1 - (1 - level) / 2), level };
}

/** Interval of stat(a) / stat(b), resampling both sides independently (a ratio to a baseline). */
export function bootstrapRatio(a: readonly number[], b: readonly number[], stat: (xs: readonly number[]) => number = median, o: ResampleOptions = {}): Interval {
  const reps = o.reps ?? 4000;
  const level = o.level ?? 0.95;
  const r = rng(o.seed ?? 1);
  const est = stat(a) / stat(b);
  if (a.length < 2 || b.length < 2) return { estimate: est, low: NaN, high: NaN, level };
  const boots = Array.from({ length: reps }, () => stat(resample(a, r)) / stat(resample(b, r))).sort((x, y) => x - y);
  return { estimate: est, low: quantile(boots, (1 - level) / 2), high: quantile(boots, 1 - (1 - level) / 2), level };
}

/**
 * Two-sided permutation test of a difference in a statistic between two samples. Exact (all
 * splits) when there are at most 20 000 of them, otherwise Monte Carlo with `reps` shuffles.
 * Returns the p-value, counting the observed split (never 0).
 */
export function permutationTest(a: readonly number[], b: readonly number[], stat: (xs: readonly number[]) => number = mean, o: { reps?: number; seed?: number } = {}): number {
  const all = [...a, ...b];
  const n = a.length;
  const observed = Math.abs(stat(a) - stat(b));
  const eps = 1e-12 * Math.max(1, Math.abs(observed));
  let extreme = 0;
  let total = 0;
  const splits = binomial(all.length, n);
  if (splits <= 20_000) {
    const idx = Array.from({ length: n }, (_, i) => i);
    for (;;) {
      const inA = new Set(idx);
      const xa = idx.map((i) => all[i]!);
      const xb = all.filter((_, i) => !inA.has(i));
      if (Math.abs(stat(xa) - stat(xb)) >= observed - eps) extreme++;
      total++;
      let k = n - 1;
      while (k >= 0 && idx[k] === all.length - n + k) k--;
      if (k < 0) break;
      idx[k]!++;
      for (let j = k + 1; j < n; j++) idx[j] = idx[j - 1]! + 1;
    }
    return extreme / total;
  }
  const r = rng(o.seed ?? 1);
  const reps = o.reps ?? 10_000;
  const buf = [...all];
  for (let i = 0; i < reps; i++) {
    for (let j = buf.length - 1; j > 0; j--) {
      const k = Math.floor(r() * (j + 1));
      [buf[j], buf[k]] = [buf[k]!, buf[j]!];
    }
    if (Math.abs(stat(buf.slice(0, n)) - stat(buf.slice(n))) >= observed - eps) extreme++;
  }
  return (extreme + 1) / (reps + 1);
}

function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return Math.round(r);
}
