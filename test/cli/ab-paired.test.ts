// `isoprobe ab --run`, paired, as users run it: bad input refused by name before anything runs,
// and an A/A of the host against itself (the same probe under another path) measured in ABBA block
// pairs, its JSON verdict agreeing with its exit code.
import test from 'ava';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { probeBinaryPath } from '../../lib/paths';
import { runCli, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

test('paired options are refused by name where they do not apply, with what was expected', (t) => {
  const db = join(tmp.dir, 'bad.db');
  for (const [args, msg] of [
    [['--run', '--baseline', 'host', '--candidate', 'runc', '--reps', '3'], 'isoprobe: --reps 3: with --run, A and B are measured in block pairs until --precision or --budget; --reps counts whole repetitions of --unpaired'],
    [['--baseline', '1', '--candidate', '2', '--precision', '5%'], 'isoprobe: --precision goes with --run (paired, the default): it sets how both sides are measured'],
    [['--run', '--unpaired', '--baseline', 'host', '--candidate', 'runc', '--budget', '1m'], 'isoprobe: --budget goes with --run (paired, the default): it sets how both sides are measured'],
    [['--run', '--baseline', 'host', '--candidate', 'runc', '--precision', '5'], 'isoprobe: --precision "5": expected a percentage like 5% (or a fraction like 0.05)'],
    [['--run', '--baseline', 'host', '--candidate', 'runc', '--budget', '10ms'], 'isoprobe: --budget "10ms": expected a time of at least 1s'],
  ] as const) {
    const r = runCli(['ab', ...args, '--db', db]);
    t.is(r.code, 2, r.stderr);
    t.is(r.stderr.trim(), msg);
  }
  const help = runCli(['ab', '--help']);
  t.regex(help.stdout, /--precision PERCENT +with --run: the smallest change every cell must be able to find/);
  t.regex(help.stdout, /INCONCLUSIVE, never a pass/);
});

test('an A/A of the host in block pairs: ABBA pairs measured, and the exit code says what the JSON verdict says', (t) => {
  const copy = join(tmp.dir, 'probe-copy');
  copyFileSync(probeBinaryPath(), copy);
  require('node:fs').chmodSync(copy, 0o755);
  const suite = join(tmp.dir, 'suite.yaml');
  writeFileSync(suite, 'workloads:\n  - name: null-op\n    kind: block\n    options: { engine: "null", size: 1M }\n');
  const r = require('node:child_process').spawnSync(process.execPath, [join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js'), 'ab', '--run', '--baseline', 'host', '--candidate', `host[probe=${copy}]`,
    '--suite', suite, '--budget', '15s', '--block', '50ms', '--block-warmup', '10ms', '--precision', '50%', '--no-screen', '--json', '--db', join(tmp.dir, 'aa.db')],
  { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ISOPROBE_DATA_FILE: join(tmp.dir, 'data') } });
  t.true([0, 1, 125].includes(r.status), r.stderr);
  const g = JSON.parse(r.stdout);
  t.is(g.verdict, r.status === 1 ? 'regression' : r.status === 125 ? 'inconclusive' : 'no regression', r.stdout);
  t.true(g.pairs >= 7, `${g.pairs} pairs: at least the 7 the test needs at alpha 0.01`);
  t.regex(g.method, /^paired max-T \(sign flips of whole pairs, the same for every cell\) over \d+ cells and \d+ ABBA block pairs/);
  t.regex(g.method, /stopped by (reaching 50\.0 % in every cell|the --budget)/);
  for (const c of g.cells) t.true(Number.isFinite(c.detectable), JSON.stringify(c));
});
