// `ab --where`: it traces both sides while `--run` measures them, so without --run (stored runs
// carry their attribution or not) it is refused, naming the option and what it goes with.
import test from 'ava';
import { join } from 'node:path';

import { runCli, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

test('ab --where without --run is refused with exit 2, naming --where and --run', (t) => {
  const r = runCli(['ab', '--where', '--baseline', '1', '--candidate', '2', '--db', join(tmp.dir, 'x.db')]);
  t.is(r.code, 2, r.stderr);
  t.is(r.stderr.trim(), 'isoprobe: --where goes with --run: it traces both sides while they are measured');
});

test('ab --help lists --where for --run, paired or --unpaired', (t) => {
  const r = runCli(['ab', '--help']);
  t.regex(r.stdout, /--where +with --run \(paired or --unpaired\): trace block and RR workloads with eBPF/);
});
