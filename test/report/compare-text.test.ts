// What a person reads of a comparison: the table fits 120 columns by default and --wide shows
// every column; warnings are grouped (failures first, then one line per workload naming the
// targets and their spread); the time-left estimate starts near the truth; on a terminal the table
// appears after the first repetition and is refined after each (read from a real pty).
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { type Comparison, type Row, summarize, warningsFor, type WorkloadSummary } from '../../lib/compare/compare';
import type { ResultKind } from '../../lib/compare/kinds';
import { formatMetric, rateMetric } from '../../lib/compare/metrics';
import { estimateLeftMs } from '../../lib/compare/progress';
import { formatComparison, TABLE_COLUMNS } from '../../lib/report/compare-text';
import type { Interval } from '../../lib/stats/resample';
import type { TargetResult } from '../../lib/targets/types';
import { isRoot, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const iv = (estimate: number, spread = 0.07): Interval => ({ estimate, low: estimate * (1 - spread), high: estimate * (1 + spread), level: 0.95 });

type Made = { p50: number; rate: number; kind?: ResultKind; baseline?: boolean; hostCache?: string; emulated?: boolean; cv?: number; error?: string; n?: number; hostPerOp?: number };

function row(target: string, o: Made): Row {
  const kind = o.kind ?? 'block';
  const rate = rateMetric(kind);
  const perOp = o.hostPerOp ?? o.p50 * 1.37;
  return {
    target, kind, n: o.n ?? 2,
    values: { p50: [o.p50], p99: [o.p50 * 3], 'p99.9': [o.p50 * 9], [rate]: [o.rate, o.rate * 1.02], host_cpu_per_op: [perOp], overhead: [12.34] },
    ci: { p50: iv(o.p50), p99: iv(o.p50 * 3, 0.2), 'p99.9': iv(o.p50 * 9, 0.3), [rate]: iv(o.rate), host_cpu_per_op: iv(perOp), overhead: iv(12.34, 0) },
    ratio: o.baseline ? undefined : iv(0.512, 0.03),
    baseline: o.baseline, hostCache: o.hostCache ?? 'bypassed', emulated: o.emulated ?? false, cv: o.cv ?? 0.02, error: o.error,
  };
}

// The widest values this table meets: a million IOPS, second-long tails, a 24-character variant, an emulated target.
const SUMMARIES: WorkloadSummary[] = [
  { workload: 'randread-4k-uring-qd32', kind: 'block', rows: [
    row('host', { p50: 52_100, rate: 1_234_567, baseline: true }),
    row('qemu-microvm[aio=threads]', { p50: 1_330_000_000, rate: 12_328, emulated: true, cv: 0.34 }),
    row('runsc', { p50: 0, rate: 0, n: 0, error: 'io_uring read of 4096 bytes at offset 188686336 failed (gVisor answers io_uring reads and writes with EINVAL)' }),
  ] },
  { workload: 'tcp-rr-64', kind: 'tcp_rr', rows: [
    row('host', { p50: 48_000, rate: 20_264, kind: 'tcp_rr', baseline: true, hostCache: '-' }),
    row('runsc', { p50: 103_200, rate: 10_193, kind: 'tcp_rr', cv: 0.33, hostCache: '-' }),
    row('qemu-microvm[aio=threads]', { p50: 138_800, rate: 6_795, kind: 'tcp_rr', emulated: true, cv: 0.12, hostCache: '-' }),
  ] },
];

function comparison(): Comparison {
  return { suite: 'quick', reps: 5, targets: ['host', 'qemu-microvm[aio=threads]', 'runsc'], summaries: SUMMARIES, warnings: warningsFor(SUMMARIES, 5), cells: [], stacks: {} };
}

test(`the default table fits ${TABLE_COLUMNS} columns; --wide shows p99.9 and intervals in full`, (t) => {
  const table = formatComparison(comparison()).split('\n').filter((l) => !l.startsWith('warning:'));
  const widest = Math.max(...table.map((l) => [...l].length));
  t.true(widest <= TABLE_COLUMNS, `widest line ${widest} columns:\n${table.join('\n')}`);
  t.true(widest >= 90, 'the columns are there, not dropped');
  t.regex(table.join('\n'), /^ {2}host +52\.1 \(48\.5-55\.7\) µs +156 µs +1\.23 \(1\.15-1\.32\)M +1 \(base\) +71\.4 µs +12\.34x +bypassed$/m, 'p99 as its estimate, the host CPU per operation and the overhead factor');
  t.regex(table.join('\n'), /^ {2}qemu-microvm\[aio=threads\] \* +1\.33 \(1\.24-1\.42\) s /m, 'an emulated target is starred');
  t.regex(table.join('\n'), /^\* emulated: software emulation \(QEMU TCG\)/m);
  t.regex(table.join('\n'), /^ {2}runsc +failed \(the reason is below\)$/m);
  t.false(table.filter((l) => l.startsWith('  target')).some((l) => /p99\.9/.test(l)), 'no p99.9 column by default');
  const wide = formatComparison(comparison(), { wide: true }).split('\n');
  t.true(wide.filter((l) => l.startsWith('  target')).every((l) => /p99\.9/.test(l)), 'a p99.9 column in the wide table');
  t.true(Math.max(...wide.filter((l) => !l.startsWith('warning:')).map((l) => l.length)) > TABLE_COLUMNS);
  t.true(wide.some((l) => /52\.1 µs \[48\.5 µs, 55\.7 µs\]/.test(l)), 'intervals in full');
});

test('a stream\'s host CPU per byte reads as the registry writes it, in the default and wide tables alike', (t) => {
  // 0.9906e9 ns of host CPU over 3e9 bytes: 0.330 ns per byte, three decimals (the table had its own two).
  const result = (k: number) => ({
    kind: 'tcp_stream', options: { reverse: false }, bits_per_s: 1.2e10, bytes_sent: 3e9, bytes_received: 0,
    host_cpu: { total_ns: 0.99e9 + k * 3e5 }, cpu: { user_ns: 0, sys_ns: 0, window_ns: 0.99e9 }, target: { target: 'host', emulated: false },
  }) as unknown as TargetResult;
  const cells = [{ target: 'host', workload: 'stream', results: [1, 2, 3].map(result) }];
  const summaries = summarize(cells, { name: 'demo', workloads: [{ name: 'stream', workload: { kind: 'stream', options: {} as never } }] }, ['host']);
  const c: Comparison = { suite: 'demo', reps: 3, targets: ['host'], summaries, warnings: [], cells, stacks: {} };
  const expected = formatMetric('host_cpu_per_op', 0.9906e9 / 3e9);
  t.is(expected, '0.330 ns');
  t.regex(formatComparison(c), /^ {2}target +Gbit\/s +ratio +host\/B +xprobe +host cache$/m, 'a stream has no latency columns; host CPU per byte');
  t.regex(formatComparison(c), new RegExp(`^ {2}host +12\\.0 \\(12\\.0-12\\.0\\) +1 \\(base\\) +${expected} +1\\.00x +-$`, 'm'));
  t.regex(formatComparison(c, { wide: true }), new RegExp(`${expected} \\[0\\.330 ns, 0\\.330 ns\\]`));
});

test('warnings: failures first, one line each; then one line per workload naming its varying targets and their spread', (t) => {
  const w = warningsFor(SUMMARIES, 5);
  t.regex(w[0]!, /^randread-4k-uring-qd32 failed on runsc: io_uring read/);
  t.is(w[1], 'randread-4k-uring-qd32: repetitions vary by more than 10 % on qemu-microvm[aio=threads] 34 %');
  t.is(w[2], 'tcp-rr-64: repetitions vary by more than 10 % on runsc 33 %, qemu-microvm[aio=threads] 12 %');
  t.is(w.filter((x) => /vary by more than/.test(x)).length, 2, 'one line per workload, not per target');
  t.is(w.filter((x) => /use more --reps/.test(x)).length, 1, 'the advice once');
  t.is(w.filter((x) => /emulation/.test(x)).length, 1);
});

test('the time left starts near the truth: the run that first said 1,559 s with 226 s to go', (t) => {
  // Measured here on cb01584: qemu-microvm first, 17 s for its boot and 5 cells of 2.5 s; 95 cells (237.5 s of budgets) to go, 226 s in fact.
  const first = estimateLeftMs(17_000, 12_500, 237_500);
  t.true(first > 226_000 * 0.7 && first < 226_000 * 1.6, `first estimate ${Math.round(first / 1000)} s for 226 s`);
  t.true(estimateLeftMs(0, 0, 100_000) >= 100_000, 'never below the cells\' own time before anything ran');
  // Late in a run, its own pace counts: 2x slower than the budgets says about 2x.
  t.true(Math.abs(estimateLeftMs(200_000, 100_000, 20_000) - 40_000) < 1);
  t.is(estimateLeftMs(5000, 5000, 0), 0);
});

const scriptSkip = isRoot ? undefined : 'compares on the host target, which needs root';
testIf(scriptSkip, test.serial)(`on a terminal, compare shows the table after the first repetition and redraws it after each${why(scriptSkip)}`, (t) => {
  const suite = join(tmp.dir, 's.yaml');
  writeFileSync(suite, 'name: tty\nduration: 150ms\nwarmup: 20ms\nworkloads:\n  - {name: rd, kind: block, options: {direct: true, size: 4M}}\n  - {name: rr, kind: rr, placement: loopback}\n');
  const cli = join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js');
  const cmd = `${process.execPath} ${cli} compare --targets host --suite ${suite} --reps 3 --no-store --data-file ${join(tmp.dir, 'd.dat')} --data-size 4M`;
  // util-linux script gives the command a real pseudo-terminal and records what it wrote there.
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, COLUMNS: '120' } });
  t.is(r.status, 0, r.stdout);
  const screen = r.stdout;
  const first = screen.indexOf('1 of 3 repetitions so far');
  const second = screen.indexOf('2 of 3 repetitions so far');
  const final = screen.indexOf('suite tty, 3 repetitions');
  t.true(first >= 0 && second > first && final > second, `drawn after repetitions 1 and 2, then the final table:\n${screen}`);
  t.regex(screen.slice(first, second), /\x1b\[\d+A\x1b\[J/, 'the second drawing replaces the first in place');
});

test('the answer comes first: clear ratios largest first, the host cache, what could not be told apart and what failed, each line within 120 columns', (t) => {
  const { verdictLines } = require('../../lib/report/verdict-text') as typeof import('../../lib/report/verdict-text');
  const c = comparison();
  // runsc's RR interval holds 1 in this made-up run: "not told apart"; the emulated microVM's excludes it.
  c.summaries[1]!.rows[1]!.ratio = { estimate: 0.98, low: 0.9, high: 1.05, level: 0.95 };
  c.summaries[0]!.rows[1]!.hostCache = 'used';
  const lines = verdictLines(c);
  t.is(lines[0], 'What this run found, against host (ratios of rates, higher is faster; [95 % interval]):');
  t.regex(lines.join('\n'), /^ {2}qemu-microvm\[aio=threads\] \(emulated: TCG\): 0\.51x the IOPS on randread-4k-uring-qd32 \[0\.50-0\.53\];\n {4}0\.51x the tx\/s on tcp-rr-64 \[0\.50-0\.53\];/m);
  t.false(lines.some((l) => /^ {2}runsc:.*on randread-4k-uring-qd32/.test(l)), 'a failed row has no ratio to report');
  t.regex(lines.join('\n'), /host page cache used on randread-4k-uring-qd32/);
  t.regex(lines.join('\n'), /^ {2}not told apart from the baseline \(intervals hold 1\): runsc on tcp-rr-64$/m);
  t.regex(lines.join('\n'), /^ {2}failed: randread-4k-uring-qd32 on runsc \(io_uring read of 4096 bytes at offset 188686336 failed\)$/m);
  for (const l of lines) t.true(l.length <= 120, l);
  // And the table's text opens with it, before the first table.
  const text = formatComparison(c).split('\n');
  t.true(text.indexOf(lines[0]!) > 0 && text.indexOf(lines[0]!) < text.findIndex((l) => l.startsWith('  target')), 'before the tables');
  t.deepEqual(formatComparison(c, { partial: { done: 1, of: 5 } }).split('\n').filter((l) => l.startsWith('What this run found')), [], 'not while the run is still measuring');
});

test('every line of the text output fits 120 columns, long warnings wrapped at spaces with nothing lost', (t) => {
  const c = comparison();
  c.warnings.push(`randread-4k-uring-qd32 failed on runc: ${'io_uring is blocked by this process\'s seccomp filter '.repeat(6)}(isoprobe: --seccomp)`);
  const text = formatComparison(c).split('\n');
  for (const l of text) t.true(l.length <= TABLE_COLUMNS, `${l.length}: ${l}`);
  const joined = text.join(' ').replace(/\s+/g, ' ');
  for (const w of c.warnings) t.true(joined.includes(w.replace(/\s+/g, ' ')), `kept whole: ${w.slice(0, 60)}`);
});
