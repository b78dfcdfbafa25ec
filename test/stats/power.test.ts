// The gate's power table, read as the tables and warnings read it: conservatively (the noise
// column at or above, the repetitions row at or below), and the advice a person gets from it; the
// gate's own output carries the line for the cells it judged.
import test from 'ava';

import { gatePower, powerAdvice } from '../../lib/stats/power';
import { runCli, tempDir } from '../helpers';

test('the table is read conservatively: more noise or fewer repetitions never read as more power', (t) => {
  t.deepEqual(gatePower(10, 0.03, 0.1), { power: 0.95, atCv: 0.03, atReps: 10, repsFor80: 10 });
  t.is(gatePower(12, 0.031, 0.1)!.atCv, 0.05, '3.1 % noise is read in the 5 % column');
  t.is(gatePower(12, 0.031, 0.1)!.atReps, 10, '12 repetitions are read in the 10 row');
  t.is(gatePower(5, 0.02, 0.05)!.power, 0.02);
  t.is(gatePower(4, 0.03, 0.1), undefined, 'below the table: cannot decide at alpha 0.01');
  t.is(gatePower(20, 0.12, 0.1), undefined, 'noise beyond the table');
  t.is(gatePower(20, 0.09, 0.1)!.repsFor80, undefined, 'at 9 % noise no row reaches 80 %');
});

test('the advice names the noise, the chance at these repetitions, and what 80 % would need', (t) => {
  t.is(powerAdvice(5, 0.045), 'the median variation between repetitions is 5 %: with 5 repetitions a side the gate finds a 10 % change in one cell about 6 % of the time (read at 5 % noise, 5 repetitions; bench/gate-power.ts); 80 % needs about 15 a side');
  t.regex(powerAdvice(5, 0.091), /^the median variation between repetitions is 9 %: at that noise the gate finds a 10 % change in one cell less than a third of the time even with 20 repetitions a side/);
});

test('the gate prints its power line for the cells it judged', (t) => {
  const tmp = tempDir();
  try {
    const side = (name: string, scale: number) => {
      const results = [0, 1, 2, 3, 4, 5, 6].map((rep) => ({ workload: 'w', target: 'host', rep, result: {
        kind: 'block', options: { engine: 'psync', pattern: 'randread', bs: 4096, qd: 1, direct: true, size: 1 << 24 }, iops: 10_000 * scale * (1 + 0.04 * Math.sin(rep * 2.3)),
        latency_ns: { percentiles: { 50: 1e5 / scale, 99: 3e5 / scale }, mean: 1e5 }, target: { emulated: false } } }));
      const f = `${tmp.dir}/${name}.json`;
      require('node:fs').writeFileSync(f, JSON.stringify({ results }));
      return f;
    };
    const r = runCli(['ab', '--baseline', side('a', 1), '--candidate', side('b', 1), '--metric', 'iops']);
    // At 4 % noise and 7 repetitions the gate could not have found 5 %: it says so twice, in the power line and the verdict.
    t.is(r.code, 125, r.stderr);
    t.regex(r.stdout, /^INCONCLUSIVE: 1 of 1 cells could not have found a 5\.0 % change/m);
    t.regex(r.stdout, /^power: the median variation between repetitions is [0-9]+ %: with 7 repetitions a side the gate finds a 10 % change in one cell about [0-9]+ % of the time/m);
  } finally {
    tmp.cleanup();
  }
});
