// compare --where end to end on the host target: the session traces its block steps as run --where
// does, the table has its where column and the breakdown follows; the stored run gives the same
// breakdown from `isoprobe report RUN` and the layer times as CSV columns.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { traceUnavailable } from '../../lib/trace/available';
import { isRoot, runCli, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const skip = !isRoot ? 'tracing and the host target\'s block runs need root' : traceUnavailable();

testIf(skip, test.serial)('compare --where shows the where column and the breakdown; report and export read them from the store' + why(skip), (t) => {
  const suite = join(tmp.dir, 's.yaml');
  writeFileSync(suite, 'name: where\nduration: 300ms\nwarmup: 50ms\nworkloads:\n  - {name: rd, kind: block, options: {direct: true, size: 8M}}\n');
  const db = join(tmp.dir, 'w.db');
  const common = ['--targets', 'host', '--suite', suite, '--reps', '3', '--db', db, '--data-file', join(tmp.dir, 'd.dat'), '--data-size', '8M'];
  const c = runCli(['compare', ...common, '--where']);
  t.is(c.code, 0, c.stderr);
  t.regex(c.stdout, /^ {2}target .* where +host cache$/m);
  t.regex(c.stdout, /^ {2}host .* \d+\/\d+\/\d+ +bypassed$/m, 'a split in the host row');
  t.regex(c.stdout, /^ {2}host: tail .* \(3 of 3 repetitions traced, [\d.]+ % of operations matched\)$/m);
  t.regex(c.stdout, /^ {4}p50 band .* = device .* \+ host kernel .* \+ boundary /m);
  const r = runCli(['report', '--db', db, '1', '-o', join(tmp.dir, 'r.html')]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^rd\n {2}host: tail /m, 'the stored run\'s breakdown');
  const csv = runCli(['export', '--db', db, '--format', 'csv', '1']).stdout.split('\n').filter(Boolean);
  const head = csv[0]!.split(',');
  for (const col of ['device_p50_ns', 'host_kernel_p50_ns', 'boundary_p50_ns', 'syscalls_per_op']) {
    const i = head.indexOf(col);
    t.true(i > 0 && csv.slice(1).every((l) => Number(l.split(',')[i]) >= 0 && l.split(',')[i] !== ''), `${col} in every row`);
  }
  const plain = runCli(['compare', ...common, '--no-store']);
  t.is(plain.code, 0, plain.stderr);
  t.notRegex(plain.stdout, /where the time goes|^ {2}target .* where /m, 'without --where: no column, no breakdown');
});
