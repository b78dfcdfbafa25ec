// Bootstrap intervals and the permutation test: coverage of a known shift, false positives.
import test from 'ava';

import { bootstrap, bootstrapRatio, median, permutationTest, rng } from '../../lib/stats/resample';

function normal(r: () => number, mu: number, sigma: number): number {
  return mu + sigma * Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
}

test('bootstrap interval of the median contains the estimate and is reproducible by seed', (t) => {
  const r = rng(5);
  const xs = Array.from({ length: 30 }, () => normal(r, 100, 10));
  const a = bootstrap(xs, median, { seed: 9 });
  const b = bootstrap(xs, median, { seed: 9 });
  t.deepEqual(a, b);
  t.true(a.low <= a.estimate && a.estimate <= a.high);
  t.true(a.high - a.low < 15);
});

test('ratio interval: a 20 % shift is found, an identical distribution straddles 1', (t) => {
  const r = rng(7);
  const base = Array.from({ length: 20 }, () => normal(r, 100, 3));
  const slow = Array.from({ length: 20 }, () => normal(r, 120, 3));
  const same = Array.from({ length: 20 }, () => normal(r, 100, 3));
  const i1 = bootstrapRatio(slow, base);
  t.true(i1.low > 1.1 && i1.high < 1.3, `${i1.low}..${i1.high}`);
  const i2 = bootstrapRatio(same, base);
  t.true(i2.low < 1 && i2.high > 1, `${i2.low}..${i2.high}`);
});

test('permutation test: exact for small samples, detects a clear shift', (t) => {
  t.is(permutationTest([1, 2, 3, 4, 5], [11, 12, 13, 14, 15]), 2 / 252, 'only the two most extreme splits of 252');
  const r = rng(3);
  const a = Array.from({ length: 10 }, () => normal(r, 100, 2));
  const b = Array.from({ length: 10 }, () => normal(r, 106, 2));
  t.true(permutationTest(a, b) < 0.01);
});

test('permutation test: false-positive rate at p < 0.05 stays near 5 % over many seeds', (t) => {
  let hits = 0;
  const trials = 400;
  for (let s = 0; s < trials; s++) {
    const r = rng(1000 + s);
    const a = Array.from({ length: 8 }, () => normal(r, 50, 5));
    const b = Array.from({ length: 8 }, () => normal(r, 50, 5));
    if (permutationTest(a, b, undefined, { seed: s }) < 0.05) hits++;
  }
  t.true(hits / trials < 0.08, `false positives ${hits}/${trials}`);
  t.true(hits / trials > 0.01, `not degenerate: ${hits}/${trials}`);
});
