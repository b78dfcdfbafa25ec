// The fio job files of examples/ (written as fio's own examples are: [global], several jobs,
// comments) run through `isoprobe run --target T --fio FILE` on the host, runc and QEMU microvm,
// each job with the options its lines name; one unsupported key refused by name and line.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { packageRoot } from '../../lib/paths';
import type { BlockResult } from '../../lib/probe/types';
import { tempDir, targetSkips, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const EXAMPLES = join(packageRoot(), 'examples');
const CLI = join(packageRoot(), 'bin', 'isoprobe.js');

/** What each example's lines ask of each job: [job, pattern, engine, qd, bs, direct, jobs, rwmix_read, fsync, fdatasync, cpus]. */
const EXPECTED: Record<string, [string, string, string, number, number, boolean, number, number, number, number, string][]> = {
  'rand-read-depths.fio': [
    ['qd1', 'randread', 'io_uring', 1, 4096, true, 1, 50, 0, 0, ''],
    ['qd8', 'randread', 'io_uring', 8, 4096, true, 1, 50, 0, 0, ''],
    ['qd32-libaio', 'randread', 'io_uring', 32, 4096, true, 1, 50, 0, 0, ''],
  ],
  'db-mix.fio': [
    ['table', 'randrw', 'psync', 1, 8192, true, 1, 70, 0, 16, ''],
    ['wal', 'write', 'psync', 1, 4096, false, 1, 50, 1, 0, ''],
  ],
  'parallel-readers.fio': [
    ['one-reader', 'randread', 'pvsync2', 1, 16384, true, 1, 50, 0, 0, '0'],
    ['two-readers', 'randread', 'pvsync2', 1, 16384, true, 2, 50, 0, 0, '0,1'],
  ],
};

function cli(args: string[], timeoutMs: number) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

test('examples/ holds fio job files written as fio\'s are: a [global], two or more jobs, comments', (t) => {
  for (const name of Object.keys(EXPECTED)) {
    const lines = readFileSync(join(EXAMPLES, name), 'utf8').split('\n');
    t.true(lines.includes('[global]'), `${name}: [global]`);
    t.true(lines.filter((l) => /^\[[^\]]+\]$/.test(l) && l !== '[global]').length >= 2, `${name}: several jobs`);
    t.true(lines.some((l) => /^[;#] \S/.test(l)), `${name}: comments`);
  }
});

const TARGETS = ['host', 'runc', 'qemu-microvm'];
const skips = targetSkips(TARGETS);

for (const target of TARGETS) {
  const skip = skips.get(target);
  testIf(skip, test.serial)(`every job of every example runs on ${target} with the options its lines name${why(skip)}`, (t) => {
    // Guards against a hang only: QEMU runs under TCG here, its boot alone takes seconds.
    const perFile = target.startsWith('qemu') ? 300_000 : 90_000;
    t.timeout(perFile * Object.keys(EXPECTED).length + 30_000);
    for (const [name, jobs] of Object.entries(EXPECTED)) {
      // io_uring under a container's default seccomp profile is refused (the example says so).
      const seccomp = target === 'runc' ? ['--seccomp', 'unconfined'] : [];
      const r = cli(['run', '--target', target, ...seccomp, '--data-file', join(tmp.dir, `${target}.data`), '--fio', join(EXAMPLES, name), '--json'], perFile);
      t.is(r.code, 0, `${name} on ${target}: ${r.signal ?? ''}${r.stderr}`);
      if (r.code !== 0) continue;
      const results = JSON.parse(r.stdout) as { name: string; result: BlockResult & { target: { target: string } } }[];
      t.deepEqual(results.map((x) => {
        const o = x.result.options;
        return [x.name, o.pattern, o.engine, o.qd, o.bs, o.direct, o.jobs, o.rwmix_read, o.fsync, o.fdatasync, o.cpus ?? ''];
      }), jobs, `${name} on ${target}`);
      for (const x of results) {
        t.is(x.result.target.target, target, `${name} [${x.name}]: measured in ${target}`);
        t.true(x.result.ops > 0, `${name} [${x.name}] on ${target}: ${x.result.ops} operations`);
        t.is(x.result.options.duration, 1e9, `${name} [${x.name}]: runtime=1 is one second`);
        t.is(x.result.options.warmup, 500e6, `${name} [${x.name}]: ramp_time=500ms`);
      }
      if (name === 'rand-read-depths.fio') t.regex(r.stderr, /note: .*rand-read-depths\.fio:\d+ \[qd32-libaio\]: ioengine=libaio runs as io_uring/);
    }
  });
}

test('an example with one key isoprobe does not run is refused by its name, section and line, before any I/O', (t) => {
  // db-mix.fio with fio's verify=crc32c added to its [table] job, right after the section line.
  const lines = readFileSync(join(EXAMPLES, 'db-mix.fio'), 'utf8').split('\n');
  const at = lines.indexOf('[table]') + 1;
  lines.splice(at, 0, 'verify=crc32c');
  const bad = join(tmp.dir, 'db-mix-verify.fio');
  writeFileSync(bad, lines.join('\n'));
  const data = join(tmp.dir, 'refused.data');
  const r = cli(['run', '--target', 'host', '--data-file', data, '--fio', bad], 60_000);
  t.is(r.code, 2, r.stderr);
  t.regex(r.stderr, new RegExp(`db-mix-verify\\.fio:${at + 1} \\[table\\]: unknown key "verify"`));
  t.false(existsSync(data), 'no data file made: refused before any I/O');
});
