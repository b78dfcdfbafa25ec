// The precision a comparison of whole repetitions reached, per cell, against a figure worked by
// hand: two repetitions a side whose log rates differ by 0.2 have a log variance of 0.02 each, so
// se = sqrt(0.02/2 + 0.02/2) = 0.1414 and the change found 80 % of the time at 5 % two-sided is
// exp((1.960 + 0.842) x 0.1414) - 1 = 48.6 %.
import test from 'ava';

import type { Comparison } from '../../lib/compare/compare';
import { precisionLines, reachedPrecision } from '../../lib/compare/precision';

function comparison(rows: { target: string; iops: number[] }[]): Comparison {
  return {
    suite: 'made-up', reps: 2, targets: rows.map((r) => r.target), warnings: [],
    summaries: [{ workload: 'randread-4k-qd1', kind: 'block', rows: rows.map((r, i) => ({ target: r.target, n: r.iops.length, values: { iops: r.iops }, baseline: i === 0 })) }],
  } as unknown as Comparison;
}

test('each cell against the first target: the change its repetitions could have found', (t) => {
  const e = Math.exp(0.2);
  const c = comparison([{ target: 'host', iops: [1000, 1000 * e] }, { target: 'runc', iops: [900, 900 * e] }, { target: 'runsc', iops: [500] }]);
  const got = reachedPrecision(c);
  t.is(got.length, 2, 'the baseline is no cell of its own');
  t.is(got[0]!.target, 'runc');
  t.true(Math.abs(got[0]!.detectable - 0.486) < 0.002, `runc: ${got[0]!.detectable}`);
  t.is(got[1]!.detectable, Infinity, 'one repetition: no spread, nothing it could find');
  t.deepEqual(precisionLines(c), [
    'precision reached: the smallest change of the rate against host each cell could have found (5 % two-sided, power 80 %)',
    '  randread-4k-qd1: runc 48.6 %, runsc none (too few repetitions)',
  ]);
});

test('four times the repetitions at the same spread: half the change', (t) => {
  const e = Math.exp(0.2);
  const two = reachedPrecision(comparison([{ target: 'a', iops: [1, e] }, { target: 'b', iops: [1, e] }]))[0]!.detectable;
  const eight = reachedPrecision(comparison([{ target: 'a', iops: [1, e, 1, e, 1, e, 1, e] }, { target: 'b', iops: [1, e, 1, e, 1, e, 1, e] }]))[0]!.detectable;
  // log var with 8 values: 0.01 x 8/7; se = sqrt(2 x 0.01 x 8/7 / 8)
  const se = Math.sqrt((2 * 0.01 * 8) / 7 / 8);
  t.true(Math.abs(eight - Math.expm1(2.8016 * se)) < 0.002, `${eight}`);
  t.true(eight < two / 1.9, `${eight} vs ${two}`);
});
