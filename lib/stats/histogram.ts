// The core's log-linear histogram in TypeScript: same buckets, same nearest-rank percentiles, so
// merged runs give exactly the numbers the core would have given for the union.
import type { HistogramJson, LatencyJson } from '../probe/types';

export const SUB_BUCKET_BITS = 7;
export const MAX_EXPONENT = 42;
export const PERCENTILES = ['1', '5', '10', '25', '50', '75', '90', '95', '99', '99.9', '99.99'] as const;

function check(h: Pick<HistogramJson, 'scheme' | 'sub_bucket_bits'>): number {
  if (h.scheme !== 'log-linear') throw new Error(`histogram scheme "${h.scheme}": expected "log-linear"`);
  return h.sub_bucket_bits;
}

export function bucketIndex(v: number, subBits = SUB_BUCKET_BITS, maxExp = MAX_EXPONENT): number {
  const sub = 2 ** subBits;
  if (v < sub) return Math.max(0, Math.floor(v));
  const e = Math.floor(Math.log2(v));
  // Math.log2 can be off by one ulp at powers of two: correct it exactly.
  const exp = 2 ** e > v ? e - 1 : 2 ** (e + 1) <= v ? e + 1 : e;
  if (exp >= maxExp) return sub + (maxExp - subBits) * sub - 1;
  return sub + (exp - subBits) * sub + (Math.floor(v / 2 ** (exp - subBits)) - sub);
}

export function bucketLow(i: number, subBits = SUB_BUCKET_BITS): number {
  const sub = 2 ** subBits;
  if (i < sub) return i;
  const j = i - sub;
  const e = Math.floor(j / sub) + subBits;
  return (sub + (j % sub)) * 2 ** (e - subBits);
}

export function bucketHigh(i: number, subBits = SUB_BUCKET_BITS): number {
  const sub = 2 ** subBits;
  if (i < sub) return i;
  const e = Math.floor((i - sub) / sub) + subBits;
  return bucketLow(i, subBits) + 2 ** (e - subBits) - 1;
}

/** Nearest-rank percentile: the bucket holding rank ceil(p/100·n), its midpoint, clamped to [min, max]. */
export function percentile(h: HistogramJson, p: number): number {
  const bits = check(h);
  if (h.count === 0) return 0;
  const rank = Math.min(h.count, Math.max(1, Math.ceil((p / 100) * h.count)));
  let seen = 0;
  for (const [i, c] of h.buckets) {
    seen += c;
    if (seen >= rank) {
      const lo = bucketLow(i, bits);
      const hi = bucketHigh(i, bits);
      const mid = lo + Math.floor((hi - lo) / 2);
      return Math.min(h.max, Math.max(h.min, mid));
    }
  }
  return h.max;
}

/**
 * Checks a histogram that came from outside this process (a guest's serial console, a file, the
 * database): the scheme, counts that add up, buckets in range and ascending, min <= max. Throws
 * a plain Error naming what is wrong; never returns something the maths would misread.
 */
export function decodeHistogram(h: unknown): HistogramJson {
  const fail = (why: string): never => {
    throw new Error(`histogram: ${why}`);
  };
  if (!h || typeof h !== 'object') fail('expected an object');
  const o = h as Record<string, unknown>;
  if (o.scheme !== 'log-linear') fail(`scheme ${JSON.stringify(o.scheme)}: expected "log-linear"`);
  if (o.sub_bucket_bits !== SUB_BUCKET_BITS || o.max_exponent !== MAX_EXPONENT) fail(`sub_bucket_bits/max_exponent ${o.sub_bucket_bits}/${o.max_exponent}: expected ${SUB_BUCKET_BITS}/${MAX_EXPONENT}`);
  const num = (k: string) => {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`${k}: expected a finite number >= 0`);
    return v as number;
  };
  const count = num('count');
  const min = num('min');
  const max = num('max');
  num('sum');
  num('sumsq');
  if (!Number.isSafeInteger(count)) fail('count: expected a whole number');
  if (!Array.isArray(o.buckets)) fail('buckets: expected a list of [index, count] pairs');
  const top = 2 ** SUB_BUCKET_BITS + (MAX_EXPONENT - SUB_BUCKET_BITS) * 2 ** SUB_BUCKET_BITS;
  let total = 0;
  let last = -1;
  for (const b of o.buckets as unknown[]) {
    if (!Array.isArray(b) || b.length !== 2) fail('buckets: expected [index, count] pairs');
    const [i, c] = b as [unknown, unknown];
    if (!Number.isSafeInteger(i) || (i as number) < 0 || (i as number) >= top) fail(`bucket index ${String(i)}: expected 0..${top - 1}`);
    if ((i as number) <= last) fail('buckets: expected ascending, distinct indexes');
    if (!Number.isSafeInteger(c) || (c as number) <= 0) fail(`bucket ${String(i)} count ${String(c)}: expected a whole number > 0`);
    last = i as number;
    total += c as number;
  }
  if (total !== count) fail(`bucket counts add up to ${total}, count says ${count}`);
  if (count && min > max) fail(`min ${min} > max ${max}`);
  if (count && (bucketIndex(min) > (o.buckets as [number, number][])[0]![0] || bucketIndex(max) < last)) fail('min/max outside the occupied buckets');
  return o as unknown as HistogramJson;
}

export function emptyHistogram(): HistogramJson {
  return { scheme: 'log-linear', sub_bucket_bits: SUB_BUCKET_BITS, max_exponent: MAX_EXPONENT, count: 0, min: 0, max: 0, sum: 0, sumsq: 0, buckets: [] };
}

export function mergeHistograms(...hs: HistogramJson[]): HistogramJson {
  const out = emptyHistogram();
  const counts = new Map<number, number>();
  let min = Infinity;
  for (const h of hs) {
    decodeHistogram(h);
    for (const [i, c] of h.buckets) counts.set(i, (counts.get(i) ?? 0) + c);
    if (h.count) min = Math.min(min, h.min);
    out.count += h.count;
    out.max = Math.max(out.max, h.max);
    out.sum += h.sum;
    out.sumsq += h.sumsq;
  }
  out.min = out.count ? min : 0;
  out.buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  return out;
}

/** A histogram of raw values (ns), built the way the core builds one. */
export function histogramOf(values: Iterable<number>): HistogramJson {
  const h = emptyHistogram();
  const counts = new Map<number, number>();
  let min = Infinity;
  for (const v of values) {
    const i = bucketIndex(v);
    counts.set(i, (counts.get(i) ?? 0) + 1);
    h.count++;
    min = Math.min(min, v);
    h.max = Math.max(h.max, v);
    h.sum += v;
    h.sumsq += v * v;
  }
  h.min = h.count ? min : 0;
  h.buckets = [...counts.entries()].sort((a, b) => a[0] - b[0]);
  return h;
}

/** The summary the core writes next to each histogram, computed from the buckets. */
export function summarize(h: HistogramJson): LatencyJson {
  const mean = h.count ? h.sum / h.count : 0;
  const variance = h.count > 1 ? (h.sumsq - (h.sum * h.sum) / h.count) / (h.count - 1) : 0;
  const percentiles: Record<string, number> = {};
  for (const p of PERCENTILES) percentiles[p] = percentile(h, Number(p));
  return { count: h.count, min: h.min, mean, stdev: variance > 0 ? Math.sqrt(variance) : 0, max: h.max, percentiles, histogram: h };
}
