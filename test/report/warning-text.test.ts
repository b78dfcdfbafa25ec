// The warnings after a comparison's results, as `compare` prints them: one line per kind (what
// failed, what varied, mixed placements, the run as a whole), each within 120 columns and naming
// its cells, a failure's reason left to --verbose and the report; --verbose prints each in full.
import test from 'ava';

import { notesFor, type Row, type WorkloadSummary } from '../../lib/compare/compare';
import { rateMetric } from '../../lib/compare/metrics';
import { formatComparison, TABLE_COLUMNS } from '../../lib/report/compare-text';
import { groupedWarnings } from '../../lib/report/warning-text';

const iv = (estimate: number) => ({ estimate, low: estimate * 0.9, high: estimate * 1.1, level: 0.95 });

function row(target: string, o: { cv?: number; error?: string; placements?: string; emulated?: boolean } = {}): Row {
  const rate = rateMetric('block');
  return {
    target, kind: 'block', n: o.error ? 0 : 5, values: { p50: [50_000], [rate]: [20_000, 21_000] }, ci: { p50: iv(50_000), [rate]: iv(20_000) },
    hostCache: 'bypassed', emulated: o.emulated ?? false, cv: o.cv ?? 0.02, error: o.error, placements: o.placements,
  } as Row;
}

const SECCOMP = `io_uring is blocked by this process's seccomp filter ${'(the runtime default profile refuses io_uring_setup) '.repeat(4)}(isoprobe: --seccomp unconfined)`;

// Nine workloads on three targets: the quickstart's shape, with a failure per runc io_uring cell,
// spread on most, mixed placement on some, an emulated target.
const SUMMARIES: WorkloadSummary[] = Array.from({ length: 9 }, (_, i) => ({
  workload: `workload-${i}-with-a-long-name`, kind: 'block' as const, rows: [
    row('host', { cv: i % 2 ? 0.2 : 0.01 }),
    row('runc', i < 3 ? { error: SECCOMP } : { cv: 0.15, placements: i > 5 ? 'cpus 0 in 2, 0-1 in 3' : undefined }),
    row('qemu-microvm', { emulated: true, cv: 0.3 }),
  ],
}));

test('one line per kind of warning, each within 120 columns, naming the cells and what to do; nothing of a kind is dropped', (t) => {
  const notes = notesFor(SUMMARIES, 3);
  const lines = groupedWarnings(notes, TABLE_COLUMNS);
  for (const l of lines) t.true(l.length <= TABLE_COLUMNS, `${l.length}: ${l}`);
  const kinds = [...new Set(notes.map((n) => n.kind))].filter((k) => k !== 'advice');
  t.is(lines.length, kinds.length, lines.join('\n'));
  const failed = lines.find((l) => l.includes('cells failed'))!;
  t.regex(failed, /^warning: 3 cells failed: workload-0-with-a-long-name on runc(; | and 2 more).*reasons: --verbose/);
  t.false(failed.includes('seccomp'), 'the reason is left to --verbose and the report');
  t.regex(lines.find((l) => l.includes('vary over'))!, /in 9 workloads: workload-0-with-a-long-name 30 %(; | and 8 more)/);
  t.regex(lines.find((l) => l.includes('placements'))!, /^warning: 3 cells ran with mixed CPU placements: .* pin them/);
  t.regex(lines.find((l) => l.includes('emulated'))!, /^warning: 1 target emulated \(QEMU TCG\): qemu-microvm; its behaviour/);
  t.regex(lines.find((l) => l.includes('gating a change'))!, /^warning: gating a change between runs like this one: (at \d+ % spread|3 repetitions a side cannot decide)/);
  for (const l of lines) t.false(l.endsWith('…'), `said whole, not cut: ${l}`);
  t.truthy(lines.find((l) => l.startsWith('warning: only 3 repetitions')));
  // A list too long for the line says how many more there are.
  t.regex(lines.find((l) => l.includes('vary over'))!, / and \d+ more; use more --reps$/);
});

test('compare\'s text groups the warnings; --verbose prints every one in full, wrapped', (t) => {
  const notes = notesFor(SUMMARIES, 3);
  const c = { suite: 'quick', reps: 3, targets: ['host', 'runc', 'qemu-microvm'], summaries: SUMMARIES, warnings: notes.map((n) => n.text), notes, cells: [], stacks: {} };
  const short = formatComparison(c).split('\n').filter((l) => l.startsWith('warning:'));
  t.true(short.length <= 7, short.join('\n'));
  const verbose = formatComparison(c, { verbose: true });
  const joined = verbose.replace(/\s+/g, ' ');
  for (const w of c.warnings) t.true(joined.includes(w.replace(/\s+/g, ' ')), `kept whole: ${w.slice(0, 60)}`);
  t.true(verbose.split('\n').filter((l) => l.startsWith('warning:')).length > 15);
  for (const l of verbose.split('\n')) t.true(l.length <= TABLE_COLUMNS, `${l.length}: ${l}`);
});
