// The split by layer and the counts per operation in the A/B gate: cells of the same max-T family
// as the rest, the counts judged by their own threshold (--count-threshold), 0 a value of theirs
// (no block request: the page cache) and an unchanged exact count an interval as narrow as its
// spread; results without a trace add no cells and no lines.
import test from 'ava';

import type { Side } from '../../lib/compare/ab';
import { suiteGate } from '../../lib/compare/gate';
import { metricDef } from '../../lib/compare/metrics';
import type { TargetResult } from '../../lib/targets/types';
import { type Layers, type NetLayers, withNetCounts, withNetWhere, withWhere } from './where-fixture';

function plain(k: number): TargetResult {
  return {
    kind: 'block', options: { engine: 'psync', pattern: 'randread', bs: 4096 }, ops: 10_000, iops: 1e4 * (1 + ((k * 7) % 5) * 0.01),
    latency_ns: { count: 1, min: 1, max: 1, mean: 1e5, stdev: 0, percentiles: { 50: 1e5 * (1 + ((k * 3) % 5) * 0.01), 99: 4e5 * (1 + ((k * 2) % 5) * 0.01), '99.9': 5e5 } },
    target: { target: 'host', emulated: false },
  } as unknown as TargetResult;
}

/** Five repetitions with a spread of about 1-2 %: layer times `p50`, counts per op `syscalls` and `block`. */
function side(label: string, o: { p50?: Layers; syscalls?: number; block?: number; traced?: boolean } = {}): Side {
  const [d, h, b] = o.p50 ?? [50e3, 10e3, 2e3];
  const rs = [0, 1, 2, 3, 4].map((k) => {
    const j = 1 + ((k * 3) % 5) * 0.004;
    if (o.traced === false) return plain(k);
    return withWhere(plain(k), { p50: [d * j, h * j, b * j], slow: [2e5 * j, 1e6 * j, 5e3 * j], perOp: { syscalls: (o.syscalls ?? 1.01) * j, block_requests: o.block ?? 1, io_calls: 1 } });
  });
  return { label, results: new Map([['rd', new Map([['host', rs]])]]) };
}

const gate = (b: Side, c: Side, count?: number) => suiteGate(b, c, { alpha: 0.01, threshold: 0.05, classThresholds: count === undefined ? undefined : { count }, seed: 1 });
const cell = (g: ReturnType<typeof gate>, m: string) => g.cells.find((x) => x.metric === m);

test('layer times and counts are cells of the one max-T family; an A/A flags none of them', (t) => {
  const g = gate(side('a'), side('b'));
  for (const m of ['device_p50', 'host_kernel_p50', 'boundary_p50', 'device_slowest1', 'host_kernel_slowest1', 'boundary_slowest1', 'syscalls_per_op', 'io_calls_per_op', 'wakeups_per_op', 'csw_voluntary_per_op'])
    t.truthy(cell(g, m), `${m} is a cell`);
  t.regex(g.method, new RegExp(`over ${g.cells.length} cells`));
  t.is(g.regressions + g.improvements, 0);
});

test('a device that got 30 % slower at p50 is a regression of device_p50 alone among the layers', (t) => {
  const g = gate(side('a'), side('b', { p50: [65e3, 10e3, 2e3] }));
  t.is(cell(g, 'device_p50')!.verdict, 'regression');
  t.not(cell(g, 'host_kernel_p50')!.verdict, 'regression');
  t.not(cell(g, 'boundary_p50')!.verdict, 'regression');
});

test('counts are judged by their own threshold: 3 % more system calls per operation clears 2 %, not 5 %', (t) => {
  t.is(metricDef('syscalls_per_op').thresholdClass, 'count');
  const more = side('b', { syscalls: 1.01 * 1.03 });
  t.is(cell(gate(side('a'), more, 0.02), 'syscalls_per_op')!.verdict, 'regression');
  t.is(cell(gate(side('a'), more, 0.05), 'syscalls_per_op')!.verdict, 'below the noise threshold');
  // The command line's default: the registry's count threshold (2 %), not --threshold (5 %).
  t.is(gate(side('a'), more).countThreshold, 0.02);
  t.is(cell(gate(side('a'), more), 'syscalls_per_op')!.verdict, 'regression');
});

test('an exact count the same on both sides: no change, its interval as narrow as the floored spread', (t) => {
  const io = cell(gate(side('a'), side('b')), 'io_calls_per_op')!;
  t.is(io.change.estimate, 1);
  t.true(io.change.low > 0.97 && io.change.high < 1.03, `interval ${io.change.low}..${io.change.high}`);
});

test('no block request on either side (the page cache) is said as such, not a failed measurement', (t) => {
  const g = gate(side('a', { block: 0 }), side('b', { block: 0 }));
  t.deepEqual(g.notComparable.filter((x) => /block_requests_per_op/.test(x)), ['rd on host block_requests_per_op: 0 on every repetition of both sides: no change to test']);
  const moved = gate(side('a', { block: 0 }), side('b', { block: 1 }));
  t.deepEqual(moved.notComparable.filter((x) => /block_requests_per_op/.test(x)), ['rd on host block_requests_per_op: 0 on 5 baseline and 0 candidate repetitions (the test works on log values): median 0.000/op against 1.000/op, not tested']);
});

test('runs without a trace have no layer or count cells and no lines about them', (t) => {
  const g = gate(side('a', { traced: false }), side('b', { traced: false }));
  t.deepEqual(g.cells.map((x) => x.metric).sort(), ['iops', 'p50', 'p99']);
  t.deepEqual(g.notComparable, []);
});

// --- Request/response: the round trip's host path, server and boundary, and the counts per transaction.
function plainRr(k: number): TargetResult {
  return {
    kind: 'tcp_rr', options: { size: 64, conns: 1, proto: 'tcp' }, transactions: 10_000, tps: 1e4 * (1 + ((k * 7) % 5) * 0.01),
    latency_ns: { count: 1, min: 1, max: 1, mean: 6e4, stdev: 0, percentiles: { 50: 6e4 * (1 + ((k * 3) % 5) * 0.01), 99: 4e5 * (1 + ((k * 2) % 5) * 0.01), '99.9': 5e5 } },
    target: { target: 'runc', emulated: false },
  } as unknown as TargetResult;
}

/** Five RR repetitions (spread 1-2 %): split with p50 layers `p50`, or `unavailable` with the device's counts only (a VM's). */
function rrSide(label: string, o: { p50?: NetLayers; packets?: number; unavailable?: boolean } = {}): Side {
  const [h, s, b] = o.p50 ?? [25e3, 5e3, 30e3];
  const rs = [0, 1, 2, 3, 4].map((k) => {
    const j = 1 + ((k * 3) % 5) * 0.004;
    const perOp = { packets: (o.packets ?? 2) * j, server_calls: 2 * j, client_calls: 2 * j };
    if (o.unavailable) return withNetCounts(plainRr(k), 'the client runs in the guest', perOp);
    return withNetWhere(plainRr(k), { p50: [h * j, s * j, b * j], slow: [1.5e6 * j, 4e5 * j, 3e5 * j], perOp });
  });
  return { label, results: new Map([['rr', new Map([['runc', rs]])]]) };
}

const RR_GATED = ['rr_host_path_p50', 'rr_server_p50', 'rr_boundary_p50', 'rr_host_path_slowest1', 'rr_server_slowest1', 'rr_boundary_slowest1', 'packets_per_tx', 'server_calls_per_tx', 'client_calls_per_tx'];

test('an RR result\'s split is cells of the gate: each layer at p50 and the slowest 1 %, the counts per transaction by the count threshold; an A/A flags none', (t) => {
  const g = gate(rrSide('a'), rrSide('b'));
  const metrics = g.cells.map((x) => x.metric as string);
  for (const m of RR_GATED) t.true(metrics.includes(m), `${m} is a cell: ${metrics.join(', ')}`);
  for (const m of ['rr_host_path_p99', 'empty_segments_per_tx', 'device_p50', 'syscalls_per_op']) t.false(metrics.includes(m), `${m} is no cell of an RR result`);
  t.is(metricDef('packets_per_tx').thresholdClass, 'count');
  t.is(g.regressions + g.improvements, 0);
});

test('a server 30 % slower at p50 is a regression of rr_server_p50 alone among the RR layers; 3 % more packets per transaction one of packets_per_tx', (t) => {
  const g = gate(rrSide('a'), rrSide('b', { p50: [25e3, 6.5e3, 30e3] }));
  t.is(cell(g, 'rr_server_p50')!.verdict, 'regression');
  t.not(cell(g, 'rr_host_path_p50')!.verdict, 'regression');
  t.not(cell(g, 'rr_boundary_p50')!.verdict, 'regression');
  t.is(cell(gate(rrSide('a'), rrSide('b', { packets: 2 * 1.03 })), 'packets_per_tx')!.verdict, 'regression');
});

test('an RR result with no split but the device\'s counts (a VM\'s): its packets and server calls are cells, no layer and no client count', (t) => {
  const g = gate(rrSide('a', { unavailable: true }), rrSide('b', { unavailable: true }));
  t.deepEqual(g.cells.map((x) => x.metric as string).filter((m) => !['p50', 'p99', 'tps'].includes(m)).sort(), ['packets_per_tx', 'server_calls_per_tx']);
});
