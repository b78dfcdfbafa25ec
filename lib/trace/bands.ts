// What the block and the network splits share: a layer's p50, p99 and mean over operations, the
// band of operations ranked by latency that a split averages, and the sentence about the tail.

/** A layer's time over the matched operations. */
export interface LayerSummary { p50: number; p99: number; mean: number }

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** p50, p99 and mean of the values that are numbers. */
export function layerSummary(xs: number[]): LayerSummary {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), mean: s.reduce((a, b) => a + b, 0) / (s.length || 1) };
}

/** The operations ranked [from, to) (fractions of the count), at least one. */
export function bandOf<T>(ranked: T[], from: number, to: number): T[] {
  const n = ranked.length;
  const lo = Math.min(n - 1, Math.max(0, Math.floor(from * n)));
  const hi = Math.max(lo + 1, Math.min(n, Math.ceil(to * n)));
  return ranked.slice(lo, hi);
}

/** The mean of f over a band. */
export function bandMean<T>(band: T[], f: (x: T) => number): number {
  return band.reduce((a, x) => a + f(x), 0) / band.length;
}

/**
 * The layer that grew most from the p50 band to the slowest 1 %, and the sentence people need
 * ("the tail is the device: ..."); `grow` holds each layer's slowest-1 % time less its p50 time.
 */
export function tailOf<L extends string>(grow: [L, number][], p50LatencyNs: number, slowLatencyNs: number): { tail: L; sentence: string } {
  const [tail, by] = [...grow].sort((a, b) => b[1] - a[1])[0]!;
  const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;
  return { tail, sentence: `the tail is the ${tail}: the slowest 1 % take ${us(slowLatencyNs - p50LatencyNs)} more than the p50 band, ${us(by)} of it in the ${tail}` };
}
