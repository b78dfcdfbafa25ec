// The split by layer as people read it (--where): compare's `where` column and its text breakdown
// per target, both the registry's layer and count metrics' medians over repetitions, block rows in
// their layers and RR rows in theirs, each legend line naming its own; absent from runs that were
// not traced; a target that was not traced, or could not be, says so.
import test from 'ava';

import { type Cell, type Comparison, summarize, warningsFor } from '../../lib/compare/compare';
import type { Suite } from '../../lib/compare/suites';
import type { NetResult } from '../../lib/probe/types';
import { formatComparison, TABLE_COLUMNS } from '../../lib/report/compare-text';
import { formatNetResult } from '../../lib/report/net-text';
import { whereSummary } from '../../lib/report/where-text';
import { histogramOf, summarize as summarizeHistogram } from '../../lib/stats/histogram';
import type { TargetResult } from '../../lib/targets/types';
import { type Layers, type NetLayers, withNetCounts, withNetWhere, withWhere } from '../trace/where-fixture';

function result(target: string, p50: number): TargetResult {
  const lat = summarizeHistogram(histogramOf(Array.from({ length: 500 }, (_, i) => p50 * (0.9 + (i % 21) / 100))));
  // Host CPU as the widest tables meet it (71.4 µs per operation, 12.34x the probe's own).
  const host = { host_cpu: { total_ns: 500 * 71.4e3 }, cpu: { user_ns: 0, sys_ns: 0, window_ns: (500 * 71.4e3) / 12.34 } };
  return { kind: 'block', options: { engine: 'psync' }, ops: 500, iops: 1e9 / lat.mean, latency_ns: lat, host_page_cache: { mode: 'bypassed' }, ...host,
    target: { target, kind: 'container', runtime: target, probe_sha256: 'ab'.repeat(32), emulated: false } } as unknown as TargetResult;
}

const suite: Suite = { name: 'demo', workloads: [{ name: 'randread-4k-qd1', workload: { kind: 'block', options: {} } }] };
// Five repetitions whose device time varies: the medians (41, 6, 53 µs) are what the column and the text show.
const P50: Layers[] = [[40e3, 6e3, 53e3], [41e3, 6.2e3, 52e3], [90e3, 5.8e3, 54e3], [42e3, 6e3, 53e3], [39e3, 7e3, 55e3]];
const SLOW: Layers = [200e3, 1.5e6, 300e3];

function comparison(traced: boolean, second = 'runc'): Comparison {
  const targets = ['host', second];
  const cells: Cell[] = [
    { target: 'host', workload: 'randread-4k-qd1', results: P50.map((l, i) => (traced ? withWhere(result('host', 100e3), { p50: l, slow: SLOW, perOp: { syscalls: 1 + ((i * 3) % 5) * 0.1 } }) : result('host', 100e3))) },
    { target: second, workload: 'randread-4k-qd1', results: [1, 2, 3, 4, 5].map(() => result(second, 130e3)) },
  ];
  const summaries = summarize(cells, suite, targets);
  return { suite: 'demo', reps: 5, targets, summaries, warnings: warningsFor(summaries, 5), cells, stacks: {} };
}

test('compare --where: a where column of the p50 band split, from each layer\'s median over repetitions', (t) => {
  const text = formatComparison(comparison(true));
  // Medians 41 + 6 + 53 µs: 41 %, 6 %, 53 % (the repetition with 90 µs of device time does not move it).
  t.regex(text, /^ {2}target .* where +host cache$/m);
  t.regex(text, /^ {2}host .* 41\/6\/53 +bypassed$/m);
  t.regex(formatComparison(comparison(true), { wide: true }), /^ {2}host .* dev 41% host 6% bnd 53% +bypassed$/m);
  t.regex(text, /^ {2}runc .* - +bypassed$/m, 'a target that was not traced has no split');
  t.regex(text, /^where: % of the p50 band's latency in the device \/ the host kernel \/ the boundary \(--where\)$/m);
});

test('a run without --where has no where column, no legend line for it and no breakdown', (t) => {
  const text = formatComparison(comparison(false));
  t.notRegex(text, /where|dev/);
  t.deepEqual(whereSummary(comparison(false)), []);
});

test(`with the where column the default table still fits ${TABLE_COLUMNS} columns for a 24-character variant`, (t) => {
  const lines = formatComparison(comparison(true, 'qemu-microvm[aio=threads]')).split('\n').filter((l) => !/^(warning| {5})/.test(l));
  const widest = Math.max(...lines.map((l) => [...l].length));
  t.true(widest <= TABLE_COLUMNS, `widest line ${widest}:\n${lines.join('\n')}`);
});

test('the text breakdown per target: each band from the layer medians, the counts per operation, and why a target has none', (t) => {
  const c = comparison(true);
  c.cells[1]!.results = c.cells[1]!.results.map((r) => ({ ...r, attribution: { unavailable: 'no BTF at /sys/kernel/btf/vmlinux' } }) as TargetResult);
  const lines = whereSummary(c);
  const text = lines.join('\n');
  t.regex(text, /^ {2}host: tail device \(5 of 5 repetitions traced, 100\.0 % of operations matched\)\n {4}p50 band 100\.0 µs = device 41\.0 µs \(41 %\) \+ host kernel 6\.00 µs \(6 %\) \+ boundary 53\.0 µs \(53 %\)$/m);
  t.regex(text, /slowest 1 % 2\.00 ms = device 200\.0 µs \(10 %\) \+ host kernel 1\.50 ms \(75 %\) \+ boundary 300\.0 µs \(15 %\)$/m);
  // syscalls 1.0, 1.3, 1.1, 1.4, 1.2 over the repetitions: their median.
  t.regex(text, /per op 1\.20 syscalls \(pread64 1\.00, clock_nanosleep 0\.01\), 1\.00 I\/O calls, 1\.00 block requests\n +1\.00 wake-ups/);
  t.regex(text, /^ {2}runc: unavailable: no BTF at \/sys\/kernel\/btf\/vmlinux$/m);
  const untraced = whereSummary(comparison(true)).join('\n');
  t.regex(untraced, /^ {2}runc: not traced \(run with --where; the split is built for block and request\/response workloads\)$/m);
});

test('one reason shared by every traced cell (a build without the tracer) is said once, not once per cell', (t) => {
  const c = comparison(false, 'runsc');
  const why = 'this build of isoprobe has no eBPF tracer: clang was not found when the build was configured';
  for (const cell of c.cells) cell.results = cell.results.map((r) => ({ ...r, attribution: { unavailable: why } }) as TargetResult);
  const lines = whereSummary(c);
  t.deepEqual(lines.slice(2), [`  every traced cell: unavailable: ${why}`]);
  // Where some cells were split, each cell keeps its own line, the reasons among them.
  const mixed = comparison(true, 'runsc');
  mixed.cells[1]!.results = mixed.cells[1]!.results.map((r) => ({ ...r, attribution: { unavailable: why } }) as TargetResult);
  t.true(whereSummary(mixed).some((l) => l === `  runsc: unavailable: ${why}`));
  t.false(whereSummary(mixed).some((l) => l.includes('every traced cell')));
});

test('a cell that failed says it has no results to split, not that it was not traced', (t) => {
  const c = comparison(true, 'runsc');
  c.cells[1]!.results = [];
  c.cells[1]!.error = 'io_uring read of 4096 bytes failed';
  t.true(whereSummary(c).includes('  runsc: no results to split (the cell failed: see the warnings)'), whereSummary(c).join('\n'));
});

// --- Request/response rows: their own split (host path / server / boundary), their own legend line.
function rrResult(target: string, p50: number): TargetResult {
  const lat = summarizeHistogram(histogramOf(Array.from({ length: 500 }, (_, i) => p50 * (0.9 + (i % 21) / 100))));
  return { kind: 'tcp_rr', options: { size: 64, conns: 1 }, transactions: 500, tps: 1e9 / lat.mean, latency_ns: lat,
    target: { target, kind: 'container', runtime: target, probe_sha256: 'ab'.repeat(32), emulated: false } } as unknown as TargetResult;
}
// Medians over five repetitions 37, 17, 46 µs (one repetition's server 60 µs does not move them).
const RR_P50: NetLayers[] = [[36e3, 17e3, 46e3], [37e3, 16e3, 47e3], [38e3, 60e3, 45e3], [37e3, 17e3, 46e3], [39e3, 18e3, 44e3]];

function withRr(blockToo: boolean): Comparison {
  const targets = ['host', 'runc'];
  const rr: Cell[] = [
    { target: 'host', workload: 'rr-64', results: RR_P50.map((l) => withNetWhere(rrResult('host', 100e3), { p50: l, slow: [1.5e6, 3e5, 2e5] })) },
    { target: 'runc', workload: 'rr-64', results: [1, 2, 3].map(() => rrResult('runc', 130e3)) },
  ];
  const rrSuite: Suite = { name: 'demo', workloads: [...(blockToo ? suite.workloads : []), { name: 'rr-64', workload: { kind: 'rr', options: {} } }] };
  const cells = [...(blockToo ? comparison(true).cells : []), ...rr];
  const summaries = summarize(cells, rrSuite, targets);
  return { suite: 'demo', reps: 5, targets, summaries, warnings: warningsFor(summaries, 5), cells, stacks: {} };
}

test('compare --where with block and RR workloads: each where column splits its own layers, and the legend names each one\'s', (t) => {
  const text = formatComparison(withRr(true));
  t.regex(text, /^rr-64 {2}\(tcp_rr\)\n {2}target .* where +host cache\n {2}host .* 37\/17\/46 +-$/m, text);
  t.regex(text, /^ {2}host .* 41\/6\/53 +bypassed$/m, 'the block row keeps its own split');
  t.regex(formatComparison(withRr(true), { wide: true }), /^ {2}host .* path 37% srv 17% bnd 46% +-$/m);
  t.regex(text, /^where \(block\): % of the p50 band's latency in the device \/ the host kernel \/ the boundary \(--where\)$/m);
  t.regex(text, /^where \(rr\): % of the p50 band's round trip in the host path \/ the server \/ the boundary \(--where\)$/m);
  const alone = formatComparison(withRr(false));
  t.regex(alone, /^where: % of the p50 band's round trip in the host path \/ the server \/ the boundary \(--where\)$/m, 'RR rows alone: their note, no kind needed');
  t.notRegex(alone, /device|host kernel/, 'no block layer named where no block row was split');
});

test('the text breakdown of an RR row: each band in host path, server and boundary, the counts per transaction', (t) => {
  const text = whereSummary(withRr(false)).join('\n');
  t.regex(text, /^rr-64\n {2}host: tail boundary \(5 of 5 repetitions traced, 100\.0 % of transactions matched\)\n {4}p50 band 100\.0 µs = host path 37\.0 µs \(37 %\) \+ server 17\.0 µs \(17 %\) \+ boundary 46\.0 µs \(46 %\)$/m, text);
  t.regex(text, /^ {4}slowest 1 % 2\.00 ms = host path 1\.50 ms \(75 %\) \+ server 300\.0 µs \(15 %\) \+ boundary 200\.0 µs \(10 %\)$/m);
  t.regex(text, /^ {4}per tx 2\.00 packets \(0\.00 empty\), server 2\.00 calls, client 2\.00 calls$/m);
  t.regex(text, /^ {2}runc: not traced /m);
});

test('an RR row without a split (a VM, gVisor) says its reason once for all its repetitions, then the device\'s counts per transaction', (t) => {
  const c = withRr(false);
  const why = "the client's and the echo server's calls around the transactions that crossed the host-side device were not seen";
  // Three repetitions with their own packet counts (2.0, 2.2, 2.1 a transaction): one line, the median.
  c.cells[1]!.results = [2, 2.2, 2.1].map((packets) => withNetCounts(rrResult('runc', 130e3), why, { packets }));
  const lines = whereSummary(c);
  const at = lines.findIndex((l) => l.startsWith('  runc: '));
  t.is(lines[at], `  runc: unavailable: ${why}`, lines.join('\n'));
  t.is(lines[at + 1], "    per tx 2.10 packets, server 2.00 calls (the device's and the server's; 3 of 3 repetitions, about 300 transactions each)");
  t.is(lines.filter((l) => l.includes(why)).length, 1, 'the reason once, not once per repetition');
});

test('a traced RR result\'s own text keeps the split to its where lines: no line per layer or count metric', (t) => {
  const r = withNetWhere({ ...rrResult('host', 100e3), peer: '10.0.0.1:9', elapsed_ns: 1e9, latency_definition: 'send to receive', clock: { source: 'monotonic', cost_ns: 20, kernel_clocksource: 'tsc' }, env: { kernel: '6.1', cpus: 2 }, probe: { build: 'addon', version: '0' }, errors: { mismatches: 0, lost: 0, late_replies: 0 },
    options: { mode: 'rr', proto: 'tcp', size: 64, conns: 1, rate: 0, arrival: 'uniform', backend: 'blocking' }, cpu: { scope: 'client', user_ns: 1e6, sys_ns: 2e6, utilization: 0.1 } } as unknown as TargetResult,
  { p50: [37e3, 17e3, 46e3], slow: [1.5e6, 3e5, 2e5] });
  const text = formatNetResult(r as unknown as NetResult);
  t.regex(text, /^ {2}round trip /m, 'the result\'s own lines');
  t.notRegex(text, /^ {2}(where|rr_|packets|server|client|empty)/m, text);
});
