// The A/B gate on synthetic samples: a known shift is found, no shift gives few false positives.
import test from 'ava';

import { abCompare, type Side } from '../../lib/compare/ab';
import { rng } from '../../lib/stats/resample';
import type { TargetResult } from '../../lib/targets/types';

function side(label: string, p99s: number[], options: Record<string, unknown> = { engine: 'psync', pattern: 'randread', bs: 4096 }): Side {
  const results = p99s.map((v) => ({ kind: 'block', options, latency_ns: { mean: v / 2, percentiles: { '50': v / 2, '90': v * 0.8, '99': v, '99.9': v * 1.5 } }, iops: 1e9 / v, target: {} }) as unknown as TargetResult);
  return { label, results: new Map([['w', new Map([['qemu-microvm', results]])]]) };
}

function sample(r: () => number, mu: number, n: number): number[] {
  return Array.from({ length: n }, () => mu * (1 + 0.02 * (r() + r() + r() - 1.5)));
}

test('a 10 % p99 regression is found and explained', (t) => {
  const r = rng(11);
  const o = abCompare(side('A', sample(r, 100_000, 10)), side('B', sample(r, 110_000, 10)), { metric: 'p99', threshold: 0.05 });
  t.is(o.verdict, 'regression');
  t.true(o.p < 0.01);
  t.true(o.ratio.low > 1.05);
  t.regex(o.why, /^p99 changed by \+\d+\.\d %/);
});

test('a shift smaller than the threshold is not a regression, however significant', (t) => {
  const r = rng(12);
  const o = abCompare(side('A', sample(r, 100_000, 12)), side('B', sample(r, 102_000, 12)), { metric: 'p99', threshold: 0.05 });
  t.is(o.verdict, 'no significant change');
  t.regex(o.why, /does not clear the 5\.0 % noise threshold|p is not below/);
});

test('an improvement is reported as such (higher IOPS is better)', (t) => {
  const r = rng(13);
  const o = abCompare(side('A', sample(r, 100_000, 10)), side('B', sample(r, 80_000, 10)), { metric: 'iops', threshold: 0.05 });
  t.is(o.verdict, 'improvement');
});

test('false-positive rate with no shift, over many seeds, stays under the alpha', (t) => {
  // 6 repetitions a side: 924 splits, so the permutation test is exact and cheap.
  let regressions = 0;
  const trials = 300;
  for (let s = 0; s < trials; s++) {
    const r = rng(5000 + s);
    const o = abCompare(side('A', sample(r, 100_000, 6)), side('B', sample(r, 100_000, 6)), { metric: 'p99', threshold: 0.0, alpha: 0.01, seed: s });
    if (o.verdict === 'regression') regressions++;
  }
  t.true(regressions / trials <= 0.01, `${regressions}/${trials}`);
});

test('baseline and candidate from different workloads are refused', (t) => {
  const e = t.throws(() => abCompare(side('A', [1, 2, 3]), side('B', [1, 2, 3], { engine: 'psync', pattern: 'randwrite', bs: 4096 }), { metric: 'p99', threshold: 0.05 }));
  t.is(e!.message, 'baseline and candidate ran different workloads: pattern "randread" vs "randwrite"');
});

test('too few repetitions are refused with what to do', (t) => {
  const e = t.throws(() => abCompare(side('A', [1, 2]), side('B', [1, 2]), { metric: 'p99', threshold: 0.05 }));
  t.regex(e!.message, /need at least 3 repetitions on each side \(have 2 and 2\); use --reps 5 or more/);
});
