// The paired gate on synthetic block pairs (results shaped as the probe's): a planted change is a
// regression; an A/A with enough quiet pairs is "no significant change"; an A/A whose pairs cannot
// find a change of the precision asked for is inconclusive (exit 125), never a pass. And the
// screen's rule: which blocks count as disturbed, from what was recorded beside them.
import test from 'ava';

import { gateExitCode } from '../../lib/compare/gate';
import { type BlockPair, pairedGate } from '../../lib/compare/paired-gate';
import { disturbedBy, runDelayShare, SCREEN_LIMITS, stolenShare } from '../../lib/compare/screen';
import { rng } from '../../lib/stats/resample';
import type { TargetResult } from '../../lib/targets/types';
import { formatGate, gateJUnit } from '../../lib/report/gate-text';

const normal = (r: () => number) => Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());

function result(p50: number, runDelay: number | null = 0): TargetResult {
  return {
    kind: 'block', options: { engine: 'psync', pattern: 'randread', bs: 4096 }, elapsed_ns: 3e8, ops: 3e8 / p50, iops: 1e9 / p50,
    latency_ns: { mean: p50, percentiles: { '50': p50, '90': p50 * 1.2, '99': p50 * 1.5, '99.9': p50 * 2 } },
    cpu: { user_ns: 0, sys_ns: 0, run_delay_ns: runDelay }, target: {},
  } as unknown as TargetResult;
}

/** n pairs with a drift per pair shared by A and B, noise per block, B slower by `shift`. */
function pairs(seed: number, n: number, o: { drift?: number; noise?: number; shift?: number } = {}): BlockPair[] {
  const r = rng(seed);
  const { drift = 0.08, noise = 0.01, shift = 1 } = o;
  return Array.from({ length: n }, (_, i) => {
    const d = drift * normal(r);
    return { workload: 'randread-4k-qd1', order: i % 2 ? 'BA' : 'AB', a: result(50_000 * Math.exp(d + noise * normal(r))), b: result(50_000 * shift * Math.exp(d + noise * normal(r))) };
  });
}
const labels = { baseline: 'A', candidate: 'B', target: 'host', candidateTarget: 'host' };
const opts = { alpha: 0.01, threshold: 0.05, metrics: ['p50', 'iops'] as never, maxPermutations: 4096 };

test('a planted +10 % latency under a drift of 8 %: a regression in p50 and iops, exit 1', (t) => {
  const g = pairedGate(pairs(1, 12, { shift: 1.1 }), labels, { ...opts, precision: 0.05 });
  t.deepEqual(g.cells.map((c) => `${c.metric} ${c.verdict}`), ['p50 regression', 'iops regression']);
  t.is(gateExitCode(g), 1);
  t.true(Math.abs(g.cells[0]!.change.estimate - 1.1) < 0.02, `${g.cells[0]!.change.estimate}`);
  t.regex(g.method, /^paired max-T \(sign flips of whole pairs, the same for every cell\) over 2 cells and 12 ABBA block pairs, all 4096 sign vectors/);
});

test('A/A with quiet pairs can say "no significant change" at 5 %; with few noisy pairs it is inconclusive, exit 125', (t) => {
  const quiet = pairedGate(pairs(2, 12, { noise: 0.005 }), labels, { ...opts, precision: 0.05 });
  t.true(quiet.cells.every((c) => c.verdict === 'no significant change' && c.detectable! <= 0.05), formatGate(quiet));
  t.is(gateExitCode(quiet), 0);
  const noisy = pairedGate(pairs(3, 7, { noise: 0.08 }), labels, { ...opts, precision: 0.05 });
  t.true(noisy.cells.every((c) => c.verdict === 'inconclusive' && c.detectable! > 0.05), formatGate(noisy));
  t.is(noisy.inconclusive, 2);
  t.is(gateExitCode(noisy), 125);
  const text = formatGate(noisy);
  t.regex(text, /could find/);
  t.regex(text, /^INCONCLUSIVE: 2 of 2 cells could not have found a 5\.0 % change/m);
  t.regex(gateJUnit(noisy), /<skipped message="inconclusive: could find \d+\.\d % at best; /);
});

test('the screen counts steal beyond the tick a block boundary can add: one tick of 40 is no disturbance, three are', (t) => {
  t.is(stolenShare(1, 40), 0, 'one tick may be a boundary: nothing certainly stolen');
  t.is(disturbedBy({ runDelay: 0, steal: stolenShare(1, 40), canary: 1 }), undefined);
  t.is(stolenShare(3, 40), 0.05);
  t.is(disturbedBy({ runDelay: 0, steal: stolenShare(3, 40), canary: 1 }), undefined, 'at the limit: kept');
  t.is(disturbedBy({ runDelay: 0, steal: stolenShare(4, 40), canary: 1 }), 'steal 7.5 %');
  t.is(stolenShare(0, 0), 0, 'no ticks seen: nothing to say');
});

test('the screen: a block is disturbed past a fixed limit of run delay, steal or canary, and says which', (t) => {
  t.is(disturbedBy({ runDelay: 0.01, steal: 0, canary: 1.1 }), undefined);
  t.is(disturbedBy({ runDelay: null, steal: 0, canary: 1.1 }), undefined, 'a kernel without schedstat: the other signals still count');
  t.is(disturbedBy({ runDelay: 0.2, steal: 0.08, canary: 2 }), 'run delay 20.0 % of the window, steal 8.0 %, canary 2.00x its quiet time');
  t.is(disturbedBy({ runDelay: SCREEN_LIMITS.runDelay * 1.01, steal: 0, canary: 1 }), 'run delay 5.1 % of the window');
  // The share is the probe's run delay over its measured window and threads.
  t.is(runDelayShare(result(50_000, 3e7)), 0.1);
  t.is(runDelayShare(result(50_000, null)), null);
});
