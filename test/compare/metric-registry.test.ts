// A metric is its registry entry (lib/compare/metrics.ts) plus the code that measures it: an entry
// added to the registry and nowhere else shows in the comparison table (default and --wide), the
// HTML report, the CSV export and the gate. And a kind's facts come from one table (kinds.ts): its
// rate metric, whether it has latency, what one operation is, the workload that gives it.
import test from 'ava';

import type { Side } from '../../lib/compare/ab';
import { type Cell, summarize } from '../../lib/compare/compare';
import { suiteGate } from '../../lib/compare/gate';
import { KINDS, kindOfWorkload, RESULT_KINDS } from '../../lib/compare/kinds';
import { fixedScale } from '../../lib/compare/metric-format';
import { appliesTo, columnsOf, gatedMetrics, type Metric, METRIC_DEFS, type MetricDef, metricDef, metricsOf, rateMetric, whereSplit } from '../../lib/compare/metrics';
import type { Suite } from '../../lib/compare/suites';
import { formatComparison } from '../../lib/report/compare-text';
import { resultsCsv } from '../../lib/report/csv';
import { renderHtml } from '../../lib/report/html';
import type { ResultRow } from '../../lib/store/db';
import type { TargetResult } from '../../lib/targets/types';

/** A metric the registry does not have (a made-up count; the real syscalls_per_op reads a result's attribution). */
const SYSCALLS: MetricDef = {
  name: 'made_up_calls_per_op', title: 'system calls per operation', unit: 'calls', better: 'lower', kinds: ['block', 'tcp_rr'], gated: ['block'], thresholdClass: 'count',
  value: (r) => (r as unknown as { syscalls?: number }).syscalls, format: (v) => `${v.toFixed(2)} calls`, scale: fixedScale(' calls', 1),
  column: { head: 'calls/{op}', long: 'syscalls per {word}', compact: 'estimate' },
};

function block(syscalls: number, k: number): TargetResult {
  return {
    kind: 'block', options: { engine: 'psync', pattern: 'randread', bs: 4096 }, ops: 1000, iops: 5e4 + k,
    latency_ns: { count: 1, min: 1, max: 1, mean: 2e4, stdev: 0, percentiles: { 50: 2e4 + k, 99: 4e4, '99.9': 5e4 } },
    syscalls: syscalls + k * 0.01, target: { target: 'host', emulated: false },
  } as unknown as TargetResult;
}

const SUITE: Suite = { name: 'demo', workloads: [{ name: 'rd', workload: { kind: 'block', options: {} } }] };
const cells = (calls: number): Cell[] => [{ target: 'host', workload: 'rd', results: [0, 1, 2, 3, 4].map((k) => block(calls, k)) }];
const side = (label: string, calls: number): Side => ({ label, results: new Map([['rd', new Map([['host', cells(calls)[0]!.results]])]]) });

/** What each consumer shows of one comparison and one stored run. */
function shown() {
  const c = cells(12);
  const summaries = summarize(c, SUITE, ['host']);
  const comparison = { suite: 'demo', reps: 5, targets: ['host'], summaries, warnings: [], cells: c, stacks: {} };
  const stored: ResultRow[] = c[0]!.results.map((r, i) => ({ id: i, run_id: 1, workload: 'rd', target: 'host', rep: i, kind: 'block', probe_sha256: '', emulated: 0, host_page_cache: null, json: JSON.stringify(r) }));
  const csv = resultsCsv(1, stored).split('\n');
  return {
    table: formatComparison(comparison), wide: formatComparison(comparison, { wide: true }), html: renderHtml(comparison, {}),
    csvHead: csv[0]!.split(','), csvFirst: csv[1]!.split(','),
    gate: suiteGate(side('a', 10), side('b', 15), { alpha: 0.05, threshold: 0.05 }).cells.filter((x) => (x.metric as string) === SYSCALLS.name),
  };
}

test.serial('a metric added to the registry alone reaches the table, the wide table, the HTML, the CSV and the gate', (t) => {
  const before = shown();
  t.notRegex(before.table, /calls\/op/, 'not there before it is added');
  t.false(before.csvHead.includes('made_up_calls_per_op'));
  t.is(before.gate.length, 0);

  (METRIC_DEFS as unknown as MetricDef[]).push(SYSCALLS);
  try {
    const after = shown();
    t.regex(after.table, /^ {2}target +p50 latency +p99 +IOPS +ratio +host\/op +xprobe +calls\/op +host cache$/m, 'a column of the default table, headed as its entry says');
    t.regex(after.table, /^ {2}host .* 12\.0 calls +-$/m, 'its estimate in its compact scale (median of 12.00-12.04)');
    t.regex(after.wide, /syscalls per operation/, 'its long heading in the wide table');
    t.regex(after.wide, /12\.02 calls \[12\.0\d calls, 12\.0\d calls\]/, 'its interval in full');
    t.regex(after.html, /<th title="system calls per operation">syscalls per operation<\/th>/);
    t.regex(after.html, /<td>12\.02 calls<\/td>/);
    const at = after.csvHead.indexOf('made_up_calls_per_op');
    t.true(at > 4, `a CSV column: ${after.csvHead.join(',')}`);
    t.is(Number(after.csvFirst[at]), 12);
    t.is(after.gate.length, 1, 'a gated cell for block results');
    t.is(after.gate[0]!.verdict, 'regression', '10 -> 15 calls per operation');
  } finally {
    (METRIC_DEFS as unknown as MetricDef[]).pop();
  }
});

test('each kind\'s rate is a registry metric of that kind; latency metrics go with the kinds that have latency', (t) => {
  for (const k of RESULT_KINDS) {
    const rate = rateMetric(k);
    t.true(appliesTo(rate, k), `${k}: its rate ${rate}`);
    t.true(gatedMetrics(k).includes(rate), `${k}: the gate takes its rate`);
    t.true(columnsOf(k).includes(rate), `${k}: the table shows its rate`);
    t.is(metricsOf(k).includes('p50'), KINDS[k].latency, `${k}: p50 exactly when it has latency`);
    // Times in ns other than a latency: the host's CPU per operation, a UDP stream's jitter.
    t.deepEqual(columnsOf(k, { wide: true }).filter((m) => metricDef(m).unit === 'ns' && m !== 'host_cpu_per_op' && m !== 'jitter').length > 0, KINDS[k].latency);
  }
  // Each rate metric is the rate of exactly the kinds that name it.
  for (const m of ['iops', 'tps', 'gbps', 'pps'] as Metric[]) t.deepEqual([...metricDef(m).kinds], RESULT_KINDS.filter((k) => KINDS[k].rate === m));
});

test('the kind a workload gives: its mode and protocol, TCP unless it says UDP; none for a pair no kind measures', (t) => {
  t.is(kindOfWorkload({ kind: 'block', options: {} }), 'block');
  t.is(kindOfWorkload({ kind: 'rr', options: {} as never }), 'tcp_rr');
  t.is(kindOfWorkload({ kind: 'rr', options: { proto: 'udp' } as never }), 'udp_rr');
  t.is(kindOfWorkload({ kind: 'stream', options: { proto: 'tcp' } as never }), 'tcp_stream');
  t.is(kindOfWorkload({ kind: 'stream', options: { proto: 'udp' } as never }), 'udp_stream');
  t.throws(() => kindOfWorkload({ kind: 'stream', options: { proto: 'sctp' } as never }), { message: 'no result kind measures stream over sctp' });
});

/** A UDP stream's result as the probe writes it (net_json.cc), with the counts that vary. */
function udpStream(pps: number, k: number): TargetResult {
  const counts = { sent: 1000, received: pps / 2, lost: 1000 - pps / 2, loss: 1 - pps / 2000, out_of_order: 0, dropped_by_test_hook: 0, jitter_ns: 3000 + k, sent_pps: 2000, pps: pps + k };
  return {
    kind: 'udp_stream', options: { mode: 'stream', proto: 'udp', size: 1472, rate: 0, reverse: false }, transactions: 1000, bits_per_s: (pps + k) * 1472 * 8,
    udp_stream: { ...counts, rate: 0, warmup_sent: 10, streams: [counts] }, target: { target: 'host', emulated: false },
  } as unknown as TargetResult;
}

test('a UDP stream reaches the table, the HTML and the gate through its kind and registry entries alone', (t) => {
  const wl = { name: 'udp', workload: { kind: 'stream' as const, options: { proto: 'udp' as const } } };
  const c: Cell[] = [{ target: 'host', workload: 'udp', results: [0, 1, 2, 3, 4].map((k) => udpStream(1600, k)) }];
  const summaries = summarize(c, { name: 'demo', workloads: [wl] }, ['host']);
  const comparison = { suite: 'demo', reps: 5, targets: ['host'], summaries, warnings: [], cells: c, stacks: {} };
  const table = formatComparison(comparison);
  t.regex(table, /^ {2}target +pkt\/s +ratio +loss +jitter +host\/pkt +xprobe +host cache$/m, 'its rate, loss and jitter columns; host CPU per datagram');
  t.regex(table, /^ {2}host +1602 \(1600-1604\) +1 \(base\) +20\.00 % +3\.00 µs /m, 'the median rate with its interval, loss and jitter');
  t.regex(renderHtml(comparison, {}), /<th title="UDP stream loss[^"]*">loss<\/th>/);
  const udpSide = (label: string, pps: number): Side => ({ label, results: new Map([['udp', new Map([['host', [0, 1, 2, 3, 4].map((k) => udpStream(pps, k))]])]]) });
  const gate = suiteGate(udpSide('a', 1600), udpSide('b', 1200), { alpha: 0.05, threshold: 0.05 }).cells;
  t.deepEqual(gate.filter((x) => x.metric === 'pps').map((x) => x.verdict), ['regression'], 'the gate judges datagrams/s by default: 1600 -> 1200');
  t.deepEqual(gate.filter((x) => x.metric === 'loss' || x.metric === 'jitter'), [], 'loss (mostly 0) and jitter only when --metric asks');
});

test('each kind\'s split (--where) names registry metrics of that kind: every layer in the p50 band, the p99 band and the slowest 1 %', (t) => {
  t.deepEqual(RESULT_KINDS.filter((k) => whereSplit(k)), ['block', 'tcp_rr', 'udp_rr'], 'block and request/response results are split; streams are not');
  t.deepEqual(whereSplit('tcp_rr')!.layers.map((l) => l.label), ['host path', 'server', 'boundary']);
  for (const k of RESULT_KINDS) {
    const s = whereSplit(k);
    for (const l of s?.layers ?? []) for (const b of ['p50', 'p99', 'slowest1']) t.deepEqual(metricDef(`${l.stem}_${b}`).kinds, s!.kinds, `${l.stem}_${b}`);
  }
});
