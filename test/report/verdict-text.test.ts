// The answer's host CPU finding: per target, the largest clear difference in host CPU per operation
// against the baseline (intervals apart), one item, worded per kind; overlapping intervals say nothing.
import test from 'ava';

import type { Comparison, Row, WorkloadSummary } from '../../lib/compare/compare';
import type { ResultKind } from '../../lib/compare/kinds';
import { verdictLines } from '../../lib/report/verdict-text';

const iv = (estimate: number, low: number, high: number) => ({ estimate, low, high, level: 0.95 });

function row(target: string, kind: ResultKind, cpu: [number, number, number], ratio?: [number, number, number]): Row {
  return { target, kind, n: 5, values: {}, ci: { host_cpu_per_op: iv(...cpu) }, hostCache: '-', emulated: false, cv: 0,
    ...(ratio ? { ratio: iv(...ratio) } : { baseline: true }) };
}

function comparison(summaries: WorkloadSummary[]): Comparison {
  return { suite: 't', reps: 5, targets: ['host', 'runc', 'runsc'], summaries, warnings: [], cells: [], stacks: {} } as unknown as Comparison;
}

test('the largest clear host CPU difference per target is said once, in the unit of its kind; overlapping intervals say nothing', (t) => {
  const lines = verdictLines(comparison([
    { workload: 'rd', kind: 'block', rows: [row('host', 'block', [10, 9, 11]), row('runc', 'block', [10.5, 9.5, 11.5], [0.9, 0.8, 1.1]), row('runsc', 'block', [15, 14, 16], [0.5, 0.4, 0.6])] },
    { workload: 'rr', kind: 'tcp_rr', rows: [row('host', 'tcp_rr', [20, 19, 21]), row('runc', 'tcp_rr', [21, 20, 22], [0.95, 0.9, 1.05]), row('runsc', 'tcp_rr', [60, 55, 65], [0.4, 0.3, 0.5])] },
  ])).join('\n');
  t.regex(lines, /^ {2}runsc: 0\.40x the tx\/s on rr \[0\.30-0\.50\]; 0\.50x the IOPS on rd \[0\.40-0\.60\]; 3\.00x the host CPU per round trip on rr$/m);
  t.notRegex(lines, /1\.50x the host CPU/, 'only the largest of a target\'s CPU differences');
  t.notRegex(lines, /runc: /, 'runc\'s CPU intervals overlap the host\'s: nothing to say');
  const stream = verdictLines(comparison([
    { workload: 'st', kind: 'tcp_stream', rows: [row('host', 'tcp_stream', [0.3, 0.28, 0.32]), row('runc', 'tcp_stream', [0.3, 0.29, 0.31], [1, 0.9, 1.1]), row('runsc', 'tcp_stream', [0.75, 0.7, 0.8], [0.9, 0.8, 1.05])] },
  ])).join('\n');
  t.regex(stream, /^ {2}runsc: 2\.50x the host CPU per byte on st$/m, 'a CPU finding even where the rate could not be told apart');
});
