// Two sweeps in the gate: besides each point, each target's knee throughput is a cell, one value
// per repetition's curve. A target whose capacity dropped (its p99 bends at a lower rate) is a
// knee regression; the same sweep against itself is none; a run that is not a sweep has no knee.
import test from 'ava';

import type { Side } from '../../lib/compare/ab';
import { sweptParam } from '../../lib/compare/knee-cells';
import { suiteGate } from '../../lib/compare/gate';
import type { TargetResult } from '../../lib/targets/types';

const RATES = [1000, 2000, 4000, 8000];

/** One repetition's point: an open loop that serves up to `capacity`, its p99 rising past it. */
function point(rate: number, capacity: number, jitter: number): TargetResult {
  const served = Math.min(rate, capacity);
  const p99 = (rate < capacity * 0.9 ? 200e3 : 5e6) * (1 + jitter);
  return {
    kind: 'tcp_rr', tps: rate, transactions: rate, options: { mode: 'rr', proto: 'tcp', size: 64, rate, reverse: false, duration: 1e9 },
    open_loop: { rate, arrival: 'uniform', intended: rate, achieved_rate: rate, sent_more_than_1ms_late: 0, send_lag_ns: {}, served_rate: served * (1 + jitter / 10) },
    latency_ns: { count: rate, min: 1e4, max: p99 * 2, mean: p99 / 3, stdev: 1, percentiles: { 50: p99 / 4, 99: p99, '99.9': p99 * 1.5 } },
    target: { target: 'host', kind: 'host', emulated: false }, cpu: { user_ns: 0, sys_ns: 0 },
  } as unknown as TargetResult;
}

function sweepSide(label: string, capacity: number, reps = 6): Side {
  const reps_ = new WeakMap<TargetResult, number>();
  const results = new Map<string, Map<string, TargetResult[]>>();
  for (const rate of RATES) {
    const rs = Array.from({ length: reps }, (_, i) => {
      const r = point(rate, capacity, ((i * 37) % 11) / 100);
      reps_.set(r, i);
      return r;
    });
    results.set(`rate=${rate}`, new Map([['host', rs]]));
  }
  return { label, results, reps: reps_ };
}

const o = { alpha: 0.01, threshold: 0.05, seed: 1 };

test('a sweep is recognised by its points, in value order', (t) => {
  t.deepEqual(sweptParam(sweepSide('a', 5000)), { param: 'rate', points: ['rate=1000', 'rate=2000', 'rate=4000', 'rate=8000'] });
  const notSweep: Side = { label: 'q', results: new Map([['randread-4k', new Map()], ['tcp-rr-64', new Map()]]) };
  t.is(sweptParam(notSweep), undefined);
});

test('the capacity halved: the knee throughput is a regression, named with its numbers; A/A is none', (t) => {
  const g = suiteGate(sweepSide('base', 9000), sweepSide('cand', 4500), o);
  const knee = g.cells.find((c) => c.metric === 'knee_throughput');
  t.truthy(knee, g.notComparable.join('; '));
  t.is(knee!.workload, 'knee (rate)');
  t.is(knee!.verdict, 'regression');
  t.true(knee!.change.estimate < 0.6, `knee ratio ${knee!.change.estimate}`);
  const aa = suiteGate(sweepSide('base', 9000), sweepSide('again', 9000), o);
  t.is(aa.cells.find((c) => c.metric === 'knee_throughput')?.verdict, 'no significant change');
  t.is(aa.regressions, 0);
});

test('--metrics without the knee: no knee cell', (t) => {
  const g = suiteGate(sweepSide('base', 9000), sweepSide('cand', 4500), { ...o, metrics: ['p99'] });
  t.false(g.cells.some((c) => c.metric === 'knee_throughput'));
});
