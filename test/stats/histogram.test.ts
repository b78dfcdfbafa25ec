// The log-linear histogram: error bound against an exact sort, merge = union, TS == C++.
import test from 'ava';
import fc from 'fast-check';

import { native } from '../../lib/probe/native';
import type { LatencyJson } from '../../lib/probe/types';
import { bucketHigh, bucketIndex, bucketLow, histogramOf, mergeHistograms, percentile, PERCENTILES, summarize } from '../../lib/stats/histogram';

function nearestRank(sorted: number[], p: number): number {
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

function randomLatencies(n: number, seed: number): number[] {
  // Log-uniform from 1 ns to 60 s, plus a cluster, so every bucket range is exercised.
  let x = seed >>> 0 || 1;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, i) => (i % 5 === 0 ? 20_000 + Math.floor(rnd() * 500) : Math.max(1, Math.floor(Math.exp(rnd() * Math.log(60e9))))));
}

test('core percentiles stay within 1/256 of the exact nearest-rank value and inside [min, max]', (t) => {
  for (const seed of [1, 2, 3]) {
    const values = randomLatencies(20_000, seed);
    const sorted = [...values].sort((a, b) => a - b);
    const core = JSON.parse(native().histogramJson(Float64Array.from(values))) as LatencyJson;
    t.is(core.count, values.length);
    t.is(core.min, sorted[0]);
    t.is(core.max, sorted[sorted.length - 1]);
    for (const p of [...PERCENTILES, '100']) {
      const exact = nearestRank(sorted, Number(p));
      const got = p === '100' ? percentile(core.histogram, 100) : core.percentiles[p]!;
      t.true(Math.abs(got - exact) / exact <= 1 / 256, `p${p}: ${got} vs exact ${exact}`);
      t.true(got >= core.min && got <= core.max);
    }
  }
});

test('TypeScript computes the same percentiles, mean and stdev as the core from the same buckets', (t) => {
  const values = randomLatencies(5_000, 7);
  const core = JSON.parse(native().histogramJson(Float64Array.from(values))) as LatencyJson;
  const ts = summarize(core.histogram);
  t.deepEqual(ts.percentiles, core.percentiles);
  t.is(ts.min, core.min);
  t.is(ts.max, core.max);
  t.true(Math.abs(ts.mean - core.mean) / core.mean < 1e-12);
  t.true(Math.abs(ts.stdev - core.stdev) / core.stdev < 1e-6);
  t.deepEqual(histogramOf(values).buckets, core.histogram.buckets, 'TS bucketing equals the core bucketing');
});

test('merging histograms equals the histogram of the union', (t) => {
  const a = randomLatencies(3_000, 11);
  const b = randomLatencies(4_000, 12);
  const ha = JSON.parse(native().histogramJson(Float64Array.from(a))) as LatencyJson;
  const hb = JSON.parse(native().histogramJson(Float64Array.from(b))) as LatencyJson;
  const union = JSON.parse(native().histogramJson(Float64Array.from([...a, ...b]))) as LatencyJson;
  const merged = mergeHistograms(ha.histogram, hb.histogram);
  t.deepEqual(merged.buckets, union.histogram.buckets);
  t.is(merged.count, union.count);
  t.is(merged.min, union.min);
  t.is(merged.max, union.max);
  t.deepEqual(summarize(merged).percentiles, union.percentiles);
});

test('bucket boundaries: contiguous, and no bucket wider than 1/128 of its lower bound', (t) => {
  for (let i = 1; i < 128 + 35 * 128; i++) {
    t.is(bucketLow(i), bucketHigh(i - 1) + 1, `bucket ${i} starts where ${i - 1} ends`);
    const width = bucketHigh(i) - bucketLow(i) + 1;
    if (width > 1) t.true(width / bucketLow(i) <= 1 / 128);
  }
  t.is(bucketIndex(2 ** 41), 128 + (41 - 7) * 128);
  t.is(bucketIndex(60e9) < 128 + 35 * 128, true, '60 s is inside the range');
});

test('property: every value lands in a bucket that contains it', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 42 - 1 }), (v) => {
        const i = bucketIndex(v);
        return bucketLow(i) <= v && v <= bucketHigh(i);
      }),
      { numRuns: 5000 },
    ),
  );
});

test('an empty histogram reports zeros, not garbage', (t) => {
  const core = JSON.parse(native().histogramJson(new Float64Array(0))) as LatencyJson;
  t.is(core.count, 0);
  t.is(core.min, 0);
  t.is(core.percentiles['99'], 0);
  t.deepEqual(core.histogram.buckets, []);
});
