// The CLI: human output, --json, exit codes and messages.
import test from 'ava';
import { join } from 'node:path';

import { runCli, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

test('isoprobe block prints a readable summary with every figure the README explains', (t) => {
  const r = runCli(['block', '--file', join(tmp.dir, 'cli.dat'), '--size', '4M', '--duration', '200ms', '--warmup', '50ms', '--direct']);
  t.is(r.code, 0, r.stderr);
  for (const label of ['result', 'latency', 'cpu', 'clock', 'page cache', 'env']) t.regex(r.stdout, new RegExp(`^  ${label} `, 'm'));
  t.regex(r.stdout, /IOPS/);
  t.regex(r.stdout, /p99\.9 /);
  t.regex(r.stdout, /bypassed: O_DIRECT left nothing resident/);
});

test('isoprobe block --json prints the result object, also through the static probe', (t) => {
  for (const via of ['addon', 'binary']) {
    const r = runCli(['block', '--file', join(tmp.dir, 'cli.dat'), '--size', '4M', '--duration', '100ms', '--warmup', '0ns', '--json', '--via', via]);
    t.is(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    t.is(j.kind, 'block');
    t.is(j.probe.build, via === 'addon' ? 'addon' : 'static');
    t.is(j.options.size, 4 << 20);
  }
});

test('bad input: exit code 2 and one line naming the option, the value and what was expected', (t) => {
  const cases: [string[], string][] = [
    [['--bs', 'big'], 'isoprobe: --bs "big": expected a size in bytes with an optional k/M/G/T suffix (powers of 1024)'],
    [['--qdepth', '3'], 'isoprobe: --qdepth: unknown option for "isoprobe block"; did you mean --qd? (see isoprobe block --help)'],
    [['--duration'], 'isoprobe: --duration: expected a value after it'],
    [['--direct=perhaps'], 'isoprobe: --direct "perhaps": expected true or false'],
    [['--qd', '2', '--qd', '3'], 'isoprobe: --qd is given twice'],
    [['--no-size'], 'isoprobe: --no-size: --size takes a value and has no --no- form'],
  ];
  for (const [args, message] of cases) {
    const r = runCli(['block', '--file', join(tmp.dir, 'bad.dat'), ...args]);
    t.is(r.code, 2);
    t.is(r.stderr.trim(), message);
    t.is(r.stdout, '');
  }
});

test('an unknown command and --help', (t) => {
  const r = runCli(['blok']);
  t.is(r.code, 2);
  t.regex(r.stderr, /unknown command "blok"/);
  const h = runCli(['block', '--help']);
  t.is(h.code, 0);
  t.regex(h.stdout, /--engine psync\|pvsync2\|io_uring\|null/);
  t.regex(h.stdout, /\(default 256M\)/);
});
