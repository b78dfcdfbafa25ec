// The A/B rule on one cell (the gate's own) on synthetic samples: a known shift is found, no shift gives few false positives.
import test from 'ava';

import type { Side } from '../../lib/compare/ab';
import { abCompare, suiteGate } from '../../lib/compare/gate';
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
  // Significant or not, a 2 % move is never a regression at a 5 % threshold; where significant it says so.
  t.true(o.verdict === 'below the noise threshold' || o.verdict === 'no significant change', o.verdict);
  t.regex(o.why, o.verdict === 'below the noise threshold' ? /significant, but the change does not clear the 5\.0 % noise threshold/ : /p is not below/);
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
  // The gate's test is exact here (924 splits): P(p <= 0.01) = 9/924, about 2.9 of 300 trials.
  // More than 9 happens by chance with probability 0.0008 (binomial); a test whose real rate
  // were 5 % (15 expected) would exceed 9 in more than 9 of 10 such runs.
  t.true(regressions <= 9, `${regressions}/${trials}`);
});

test('baseline and candidate from different workloads are refused', (t) => {
  const e = t.throws(() => abCompare(side('A', [1, 2, 3]), side('B', [1, 2, 3], { engine: 'psync', pattern: 'randwrite', bs: 4096 }), { metric: 'p99', threshold: 0.05 }));
  t.is(e!.message, 'baseline and candidate ran different workloads: pattern "randread" vs "randwrite"');
});

test('too few repetitions are refused with what to do', (t) => {
  const e = t.throws(() => abCompare(side('A', [1, 2]), side('B', [1, 2]), { metric: 'p99', threshold: 0.05 }));
  t.regex(e!.message, /need at least 3 repetitions on each side \(have 2 and 2\); use --reps 5 or more/);
});

test('one rule: the library\'s single-cell A/B and the suite gate give the same verdict for the same numbers', (t) => {
  let decided = 0;
  for (const shift of [0, 0.03, 0.05, 0.06, 0.07, 0.1]) {
    for (let s = 0; s < 8; s++) {
      const r = rng(900 + s);
      const a = side('A', sample(r, 100_000, 8));
      const b = side('B', sample(r, 100_000 * (1 + shift), 8));
      const one = abCompare(a, b, { metric: 'p99', threshold: 0.05, seed: s });
      const g = suiteGate(a, b, { alpha: 0.01, threshold: 0.05, metrics: ['p99'], seed: s });
      t.is(one.verdict, g.cells[0]!.verdict, `shift ${shift}, seed ${s}`);
      if (one.verdict !== 'no significant change') decided++;
    }
  }
  t.true(decided >= 16, `${decided} of 48 decided`);
});

// What makes two workloads the same comes from the core's option tables, not from a hand list: a
// --jobs 1 run and a --jobs 4 run (or any other identity option changed alone) are never one cell,
// and options that only say how or where a run happens (file, duration, seed) never split a cell.
test('two runs that differ only in one identity option (jobs, split, batch, cpus, fadvise ...) are never one cell', async (t) => {
  const { BLOCK_OPTIONS } = await import('../../lib/probe/options');
  const { NET_OPTIONS } = await import('../../lib/probe/net-options');
  const base = { engine: 'psync', pattern: 'randread', bs: 4096 };
  const changed = (def: { kind: string; default: unknown; choices?: readonly string[] }): unknown =>
    def.choices ? def.choices.find((c) => c !== def.default) : def.kind === 'bool' ? !def.default : typeof def.default === 'number' ? def.default + 1 : `${String(def.default)}x`;
  let identity = 0;
  for (const table of [BLOCK_OPTIONS, NET_OPTIONS] as Record<string, { kind: string; default: unknown; choices?: readonly string[]; identity?: boolean }>[]) {
    for (const [name, def] of Object.entries(table)) {
      const cand = { ...base, [name]: changed(def) };
      const run = () => abCompare(side('A', [1, 2, 3], { ...base, [name]: def.default }), side('B', [1, 2, 3], cand), { metric: 'p99', threshold: 0.05 });
      if (def.identity) {
        identity++;
        const e = t.throws(run, undefined, name);
        t.regex(e!.message, new RegExp(`^baseline and candidate ran different workloads: ${name} `), name);
      } else {
        // Past the workload check, 3 repetitions are too few for the gate: that refusal, and no other.
        const e = t.throws(run, undefined, name);
        t.is((e as { code?: string }).code, 'EUNDERPOWERED', `${name} says how a run happens, not what it is: ${e!.message}`);
      }
    }
  }
  for (const name of ['jobs', 'split', 'batch', 'cpus', 'fadvise']) t.true((BLOCK_OPTIONS as Record<string, { identity?: boolean }>)[name]!.identity, name);
  for (const name of ['file', 'duration', 'warmup', 'seed', 'clock']) t.false((BLOCK_OPTIONS as Record<string, { identity?: boolean }>)[name]!.identity, name);
  t.true(identity >= 20, `${identity} identity options`);
});
