// fio job files in: a file written the way fio's examples are ([global], several jobs, comments)
// read into isoprobe's block options and run on the host; any other key refused by name and line.
import test from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseFioJobFile } from '../../lib/formats/fio-job';
import { probeBinaryPath } from '../../lib/paths';
import type { BlockResult } from '../../lib/probe/types';
import { runCli, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const JOB = `; random reads and writes, the way fio's examples/ write them
[global]
ioengine=psync
direct=1
bs=4k
size=8M
runtime=300ms
ramp_time=0
time_based
# each job alone
[randread-4k]
rw=randread

[randwrite-4k]
stonewall
rw=randwrite
fdatasync=4

[uring-qd8]
stonewall
ioengine=libaio
iodepth=8
readwrite=randread

[mix]
stonewall
rw=randrw
rwmixread=70
numjobs=2
bs=8k
`;

test('a job file with [global], comments and four jobs maps each key to the block option it names', (t) => {
  const f = parseFioJobFile(JOB, 'job.fio');
  const common = { engine: 'psync', direct: true, bs: '4k', size: '8M', duration: '300ms', warmup: '0s' };
  t.deepEqual(f.jobs.map((j) => [j.name, j.line, j.options]), [
    ['randread-4k', 11, { ...common, pattern: 'randread' }],
    ['randwrite-4k', 14, { ...common, pattern: 'randwrite', fdatasync: '4' }],
    ['uring-qd8', 19, { ...common, engine: 'io_uring', qd: '8', pattern: 'randread' }],
    ['mix', 25, { ...common, pattern: 'randrw', rwmix_read: '70', jobs: '2', bs: '8k' }],
  ]);
  t.deepEqual(f.notes, ['job.fio:21 [uring-qd8]: ioengine=libaio runs as io_uring (isoprobe\'s queued engine; libaio is not in its probe)']);
  // A later [global] changes only the jobs after it; a job without stonewall is told apart.
  const g = parseFioJobFile('[global]\nbs=4k\n[a]\nrw=read\n[global]\nbs=64k\n[b]\nrw=write\nruntime=2\n', 'g.fio');
  t.deepEqual(g.jobs.map((j) => j.options.bs), ['4k', '64k']);
  t.is(g.jobs[1]!.options.duration, '2s');
  t.true(g.notes.some((n) => n.startsWith('g.fio:7 [b]: no stonewall')), g.notes.join('\n'));
  t.true(g.notes.some((n) => n.startsWith('g.fio:7 [b]: no time_based')), g.notes.join('\n'));
});

test('every key and value isoprobe does not run is refused with its name, section and line', (t) => {
  const cases: [string, RegExp][] = [
    ['[global]\nbs=4k\n\n[randread]\nrw=randread\nzonemode=zbd\n', /^bad\.fio:6 \[randread\]: unknown key "zonemode" \(isoprobe runs: rw, readwrite, bs, /],
    ['[global]\n; a comment\nverify=crc32c\n[j]\nrw=read\n', /^bad\.fio:3 \[global\]: unknown key "verify"/],
    ['[j]\nrw=trim\n', /^bad\.fio:2 \[j\]: rw=trim: isoprobe runs read, write, randread, randwrite, randrw/],
    ['[j]\nioengine=sync\n', /^bad\.fio:2 \[j\]: ioengine=sync: isoprobe runs psync, pvsync2, io_uring/],
    ['[j]\nbs=4k,64k\n', /^bad\.fio:2 \[j\]: bs=4k,64k: isoprobe runs one block size/],
    ['[j]\nruntime=5x\n', /^bad\.fio:2 \[j\]: runtime=5x: expected seconds/],
    ['[j]\nrw=read\niodepth=many\n', /^bad\.fio:3 \[j\]: --qd "many": expected a whole number/],
    ['[global]\nrwmixread=200\n[j]\nrw=randrw\n', /^bad\.fio:2 \[global\]: --rwmix-read "200": expected a number of at most 100 \(job \[j\]\)$/],
    ['[j]\nrw=read\n[j]\nrw=write\n', /^bad\.fio:3 \[j\]: a second job of this name/],
    ['bs=4k\n[j]\n', /^bad\.fio:1: "bs" before any \[section\]/],
    ['[global]\nbs=4k\n', /^bad\.fio: no job sections/],
  ];
  for (const [text, re] of cases) {
    const e = t.throws(() => parseFioJobFile(text, 'bad.fio'), undefined, text);
    t.regex(e!.message, re, text);
  }
});

test('isoprobe run --target host --fio runs each job with the options it names; an unknown key stops it before any I/O', (t) => {
  const file = join(tmp.dir, 'job.fio');
  writeFileSync(file, JOB);
  const r = runCli(['run', '--target', 'host', '--data-file', join(tmp.dir, 'data'), '--fio', file, '--json']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /note: .*job\.fio:21 \[uring-qd8\]: ioengine=libaio runs as io_uring/);
  const results = JSON.parse(r.stdout) as { name: string; result: BlockResult }[];
  t.deepEqual(results.map((x) => [x.name, x.result.options.pattern, x.result.options.engine, x.result.options.qd, x.result.options.bs, x.result.options.direct, x.result.options.jobs]), [
    ['randread-4k', 'randread', 'psync', 1, 4096, true, 1],
    ['randwrite-4k', 'randwrite', 'psync', 1, 4096, true, 1],
    ['uring-qd8', 'randread', 'io_uring', 8, 4096, true, 1],
    ['mix', 'randrw', 'psync', 1, 8192, true, 2],
  ]);
  t.is(results[1]!.result.options.fdatasync, 4);
  t.is(results[3]!.result.options.rwmix_read, 70);
  for (const x of results) t.true(x.result.ops > 0 && x.result.options.duration === 300e6 && x.result.options.warmup === 0, `${x.name}: measured for 300 ms without warm-up`);
  t.true(results[3]!.result.read!.ops > results[3]!.result.write!.ops, 'rwmixread=70: more reads than writes');
  const bad = join(tmp.dir, 'bad.fio');
  writeFileSync(bad, '[global]\nbs=4k\n\n[randread]\nrw=randread\nzonemode=zbd\n');
  const b = runCli(['run', '--target', 'host', '--data-file', join(tmp.dir, 'data2'), '--fio', bad]);
  t.is(b.code, 2);
  t.regex(b.stderr, /bad\.fio:6 \[randread\]: unknown key "zonemode"/);
});

test('isoprobe compare --suite JOB.fio stores a workload per job under its section name', (t) => {
  const file = join(tmp.dir, 'cmp.fio');
  writeFileSync(file, '[global]\nbs=4k\nsize=8M\nruntime=200ms\nramp_time=0\ntime_based\n[rr]\nrw=randread\n[ww]\nstonewall\nrw=write\n');
  const db = join(tmp.dir, 'cmp.db');
  const c = runCli(['compare', '--targets', 'host', '--suite', file, '--reps', '1', '--db', db]);
  t.is(c.code, 0, c.stderr);
  const e = runCli(['export', '--db', db, '1']);
  t.is(e.code, 0, e.stderr);
  const doc = JSON.parse(e.stdout) as { results: { workload: string; result: BlockResult }[] };
  t.deepEqual(doc.results.map((r) => [r.workload, r.result.options.pattern]).sort(), [['rr', 'randread'], ['ww', 'write']]);
});

test('ab --run and fleet run take a fio job file as their suite: a bad key refused by line before any node or measurement, the jobs measured as workloads', (t) => {
  const bad = join(tmp.dir, 'bad-suite.fio');
  writeFileSync(bad, '; one unknown key\n[global]\nbs=4k\n[rr]\nrw=randread\nzonemode=zbd\n');
  const refusals: [string, string[]][] = [
    ['ab --run', ['ab', '--run', '--baseline', 'host', '--candidate', 'runc', '--suite', bad, '--db', join(tmp.dir, 'ab-bad.db')]],
    ['ab --run --unpaired', ['ab', '--run', '--unpaired', '--baseline', 'host', '--candidate', 'runc', '--suite', bad, '--db', join(tmp.dir, 'ab-bad.db')]],
    ['fleet run', ['fleet', 'run', '--inventory', join(tmp.dir, 'no-inventory.ini'), '--suite', bad]],
  ];
  for (const [what, args] of refusals) {
    const r = runCli(args);
    t.is(r.code, 2, `${what}: ${r.stderr}`);
    t.regex(r.stderr, /bad-suite\.fio:6 \[rr\]: unknown key "zonemode"/, what);
  }
  const file = join(tmp.dir, 'ab.fio');
  writeFileSync(file, '; two short jobs\n[global]\nbs=4k\nsize=8M\nruntime=100ms\nramp_time=0\ntime_based\n[rr]\nrw=randread\n[ww]\nstonewall\nrw=write\n');
  const db = join(tmp.dir, 'ab.db');
  // The host against the host with the static probe binary: two variants of one target, no container needed.
  const ab = runCli(['ab', '--run', '--unpaired', '--baseline', 'host', '--candidate', `host[probe=${probeBinaryPath()}]`, '--suite', file, '--reps', '5', '--db', db]);
  t.true(ab.code === 0 || ab.code === 1 || ab.code === 125, `ab ran to a verdict: ${ab.code} ${ab.stderr}`);
  const e = runCli(['export', '--db', db, '1']);
  t.is(e.code, 0, e.stderr);
  const doc = JSON.parse(e.stdout) as { results: { workload: string; result: BlockResult }[] };
  t.deepEqual([...new Set(doc.results.map((r) => `${r.workload} ${r.result.options.pattern} ${r.result.options.duration}`))].sort(), ['rr randread 100000000', 'ww write 100000000']);
});
