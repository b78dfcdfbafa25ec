// A row whose repetitions ran with different CPU placements says so, with each placement's count;
// one placement throughout, or results from before placement was recorded, say nothing.
import test from 'ava';

import { warningsFor, summarizeCell } from '../../lib/compare/compare';
import { mixedPlacements, placementLabel } from '../../lib/compare/placement';
import type { TargetResult } from '../../lib/targets/types';

function rr(ranOn: number[], server?: string, tps = 10_000): TargetResult {
  return {
    kind: 'tcp_rr', tps, options: { mode: 'rr', proto: 'tcp', size: 64, rate: 0, reverse: false, duration: 1e9, ...(server ? { server_cpus: server } : {}) },
    latency_ns: { count: 1, min: 1, max: 1, mean: 1, stdev: 0, percentiles: { 50: 40e3, 99: 80e3, '99.9': 90e3 } },
    cpu_placement: { pinned: [], ran_on: ranOn, samples: 2, changes_seen: 0 }, target: { target: 'runc', emulated: false },
  } as unknown as TargetResult;
}

test('the label: where the client ran and where the server was put', (t) => {
  t.is(placementLabel(rr([0], '1')), 'client on 0, server on 1');
  const auto = rr([0], 'auto');
  auto.cpu_placement!.server_pinned = [1];
  t.is(placementLabel(auto), 'client on 0, server on 1', 'auto: where the core pinned it');
  t.is(placementLabel(rr([1])), 'client on 1, server unpinned');
  t.is(placementLabel({ ...rr([0]), cpu_placement: undefined } as TargetResult), undefined);
});

test('repetitions on two placements: counted in the row and named in a warning', (t) => {
  const rs = [rr([0], '1'), rr([0], '1'), rr([0], '0', 60_000)];
  t.is(mixedPlacements(rs), 'client on 0, server on 1 ×2; client on 0, server on 0 ×1');
  const row = summarizeCell({ target: 'runc', workload: 'tcp-rr-64', results: rs } as never);
  const w = warningsFor([{ workload: 'tcp-rr-64', kind: 'tcp_rr', rows: [row] }], 3);
  t.true(w.some((l) => l.startsWith('tcp-rr-64 on runc: repetitions ran with different CPU placements (client on 0, server on 1 ×2; client on 0, server on 0 ×1)')), w.join('\n'));
});

test('one placement throughout, or none recorded: nothing said', (t) => {
  t.is(mixedPlacements([rr([0], '1'), rr([0], '1')]), undefined);
  t.is(mixedPlacements([{ ...rr([0]), cpu_placement: undefined } as TargetResult, rr([1])]), undefined);
});
