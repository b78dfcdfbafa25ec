// compare, store, export, report and ab end to end on this machine (host and runc: fast and real),
// plus the database's refusals and an interrupted run that keeps what it measured.
import test from 'ava';

import { METRICS } from '../../lib/compare/metrics';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { compare, rateOf } from '../../lib/compare/compare';
import type { Suite } from '../../lib/compare/suites';
import { IsoprobeError } from '../../lib/errors';
import { Store } from '../../lib/store/db';
import { runCli, targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const TINY: Suite = {
  name: 'tiny',
  workloads: [
    { name: 'randread', workload: { kind: 'block', options: { direct: true, size: '4M', duration: '150ms', warmup: '20ms' } } },
    { name: 'rr', workload: { kind: 'rr', options: { duration: '150ms', warmup: '20ms' }, placement: 'client-inside' } },
  ],
};
const runcSkip = targetSkips(['runc']).get('runc');

testIf(runcSkip, test.serial)('compare host and runc: interleaved, stored, summarized with intervals and ratios' + why(runcSkip), async (t) => {
  const db = join(tmp.dir, 'a.db');
  const store = new Store(db);
  const events: string[] = [];
  const c = await compare({ targets: ['host', 'runc'], suite: TINY, reps: 3, spec: { dataFile: join(tmp.dir, 'data.dat'), dataSize: 4 << 20 }, store, seed: 7, onProgress: (_d, _t, _e, what) => events.push(what) });
  t.is(c.summaries.length, 2);
  for (const s of c.summaries) {
    t.deepEqual(s.rows.map((r) => r.target), ['host', 'runc']);
    for (const r of s.rows) {
      const rate = rateOf(r);
      t.is(rate.values.length, 3);
      t.true(rate.ci.low <= rate.ci.estimate && rate.ci.estimate <= rate.ci.high);
    }
    t.truthy(s.rows[1]!.ratio, 'runc has a ratio to the host');
  }
  t.is(c.summaries[0]!.rows[0]!.hostCache, 'bypassed');
  t.true(c.warnings.some((w) => w.includes('only 3 repetitions')));
  t.true(events.some((e) => e.includes('(rep 3/3)')));
  const run = store.run(c.runId!);
  t.is(run.status, 'complete');
  t.is(store.results(c.runId!).length, 12);
  store.close();

  // history, export, report and ab through the CLI against the same database
  const h = runCli(['history', '--db', db]);
  t.regex(h.stdout, new RegExp(`^\\s+${c.runId}\\s+\\S+\\s+complete\\s+\\S+\\s+suite tiny`, 'm'), 'run, time, status, host, suite');
  const j = runCli(['export', String(c.runId), '--format', 'json', '--db', db]);
  t.is(JSON.parse(j.stdout).results.length, 12);
  const csv = runCli(['export', String(c.runId), '--format', 'csv', '--db', db]);
  t.is(csv.stdout.trim().split('\n').length, 13);
  t.regex(csv.stdout.split('\n')[0]!, /^run,workload,target,rep,kind,p50_ns/);
  const exported = join(tmp.dir, 'run.json');
  writeFileSync(exported, j.stdout);
  const html = join(tmp.dir, 'r.html');
  const r = runCli(['report', String(c.runId), '-o', html, '--db', db]);
  t.is(r.code, 0, r.stderr);
  const page = readFileSync(html, 'utf8');
  t.regex(page, /<svg class="chart cdf-chart"/);
  t.regex(page, /<svg class="chart bar-chart"/);
  t.notRegex(page, /<script|https?:\/\//, 'self-contained: no scripts, nothing fetched');
  // 3 repetitions a side decide at alpha 0.05 (1/20), not at the default 0.01: refused there with exit 125.
  t.is(runCli(['ab', '--baseline', exported, '--candidate', String(c.runId), '--db', db]).code, 125);
  const ab = runCli(['ab', '--baseline', exported, '--candidate', String(c.runId), '--workload', 'rr', '--baseline-target', 'host', '--metric', 'p50', '--alpha', '0.05', '--db', db]);
  // A run against itself: +0.0 %, and at 3 repetitions a side too few to have found 5 % (the
  // gate floors a side's variation where it is 0): inconclusive, exit 125, not a pass.
  t.is(ab.code, 125, ab.stderr);
  t.regex(ab.stdout, /^rr +host +p50 +\S+ +\S+ +\S+ +\S+ +\+0\.0 % \[[^\]]+\] +\S+ +[\d.]+ % +inconclusive$/m, 'a run against itself: +0.0 %, inconclusive');
  t.regex(ab.stdout, /^INCONCLUSIVE: 1 of 1 cells/m);
});

testIf(runcSkip, test.serial)('an interrupted comparison keeps its results, marked incomplete; earlier runs are intact' + why(runcSkip), async (t) => {
  const db = join(tmp.dir, 'b.db');
  const store = new Store(db);
  const first = await compare({ targets: ['host'], suite: TINY, reps: 1, spec: { dataFile: join(tmp.dir, 'data.dat'), dataSize: 4 << 20 }, store });
  const ac = new AbortController();
  let n = 0;
  const e = await t.throwsAsync(compare({ targets: ['host', 'runc'], suite: TINY, reps: 5, spec: { dataFile: join(tmp.dir, 'data.dat'), dataSize: 4 << 20 }, store, signal: ac.signal,
    onProgress: () => { if (++n === 3) ac.abort(); } }));
  t.is((e as IsoprobeError).code, 'ECANCELED');
  const runs = store.runs();
  t.is(runs[0]!.status, 'incomplete');
  t.true(store.results(runs[0]!.id).length >= 2);
  t.is(store.run(first.runId!).status, 'complete');
  t.is(store.results(first.runId!).length, 2);
  store.close();
});

test('a corrupt database and a foreign SQLite file are refused and left untouched', (t) => {
  const junk = join(tmp.dir, 'junk.db');
  writeFileSync(junk, Buffer.alloc(4096, 0x5a));
  const e = t.throws(() => new Store(junk), { instanceOf: IsoprobeError });
  t.regex(e!.message, new RegExp(`^--db ${junk}: not a usable isoprobe database`));
  t.true(readFileSync(junk).equals(Buffer.alloc(4096, 0x5a)));
  const foreign = join(tmp.dir, 'foreign.db');
  const Sqlite = require('better-sqlite3');
  const d = new Sqlite(foreign);
  d.exec('CREATE TABLE invoices (id INTEGER); INSERT INTO invoices VALUES (1)');
  d.close();
  const before = readFileSync(foreign);
  const e2 = t.throws(() => new Store(foreign), { instanceOf: IsoprobeError });
  t.regex(e2!.message, /is not an isoprobe database \(it has tables invoices\); refusing to touch it/);
  t.true(readFileSync(foreign).equals(before));
});

test('compare and ab refuse bad input with the option, the value and what was expected', (t) => {
  const cases: [string[], string][] = [
    [['compare', '--targets', 'host,lxc'], 'isoprobe: --targets "lxc": unknown target "lxc"; expected one of host, runc, runsc, crun, docker, podman, containerd, kata, qemu-microvm, qemu-virt, firecracker, cloud-hypervisor'],
    [['compare', '--targets', 'host,host'], 'isoprobe: --targets: "host" is named twice'],
    [['compare', '--suite', '/nonexistent.yaml'], 'isoprobe: --suite "/nonexistent.yaml": expected quick, paper, scaling (quick+udp-stream-1472 adds an optional workload) or a readable suite file (ENOENT: no such file or directory, open \'/nonexistent.yaml\')'],
    [['compare', '--reps', '0'], 'isoprobe: --reps "0": expected a number of at least 1'],
    [['ab', '--baseline', '1', '--candidate', '2', '--metric', 'p42'], `isoprobe: --metric "p42": expected one of ${METRICS.join(', ')}`],
    [['ab', '--baseline', '1', '--candidate', '2', '--threshold', 'five'], 'isoprobe: --threshold "five": expected a percentage like 5% (or a fraction like 0.05)'],
    [['report', 'latest'], 'isoprobe: isoprobe report RUN: expected a run number (see isoprobe history), not "latest"'],
  ];
  for (const [args, message] of cases) {
    const r = runCli([...args, '--db', join(tmp.dir, 'cli.db')]);
    t.is(r.stderr.trim(), message, args.join(' '));
    t.is(r.code, 2);
  }
});

test.serial('a workload that fails on a target is stored as a failure; the run and other results are intact', async (t) => {
  const db = join(tmp.dir, 'f.db');
  const store = new Store(db);
  const suite: Suite = { name: 'mixed', workloads: [
    { name: 'ok', workload: { kind: 'block', options: { size: '1M', duration: '50ms', warmup: '0ns' } } },
    // iopoll needs a device with poll queues: refused at run time on this machine's virtio disk
    { name: 'iopoll', workload: { kind: 'block', options: { size: '1M', engine: 'io_uring', iopoll: true, direct: true, duration: '50ms', warmup: '0ns' } } },
  ] };
  const c = await compare({ targets: ['host'], suite, reps: 2, spec: { dataFile: join(tmp.dir, 'f.dat'), dataSize: 1 << 20 }, store });
  const failures = store.failures(c.runId!);
  const ok = store.results(c.runId!);
  if (failures.length) {
    t.is(failures[0]!.workload, 'iopoll');
    t.is(failures[0]!.code, 'EOPNOTSUPP');
    t.regex(failures[0]!.message, /--iopoll: the device does not support polled completions/);
    t.true(c.warnings.some((w) => w.startsWith('iopoll failed on host: ')));
    t.is(ok.filter((r) => r.workload === 'iopoll').length, 0);
  } else {
    t.is(ok.filter((r) => r.workload === 'iopoll').length, 2, 'this machine polls: then both repetitions are results');
  }
  t.is(ok.filter((r) => r.workload === 'ok').length, 2);
  t.is(store.run(c.runId!).status, 'complete');
  store.close();
  const h = runCli(['history', '--db', db]);
  if (failures.length) t.regex(h.stdout, /\(2 results, 1 failures\)/);
});

test.serial('Ctrl-C (SIGINT) to isoprobe compare: exit 130, the partial run kept and marked incomplete', async (t) => {
  const db = join(tmp.dir, 'int.db');
  const suiteFile = join(tmp.dir, 'slow.yaml');
  writeFileSync(suiteFile, 'workloads:\n  - name: slow\n    kind: block\n    options: {size: 1M, duration: 400ms, warmup: 0ns}\n');
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js'), 'compare', '--targets', 'host', '--suite', suiteFile, '--reps', '50',
    '--db', db, '--data-file', join(tmp.dir, 'int.dat'), '--data-size', '1M'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => {
    // Interrupt once a few repetitions are stored.
    const timer = setInterval(() => {
      try {
        const s = new Store(db);
        const n = s.runs(1)[0] ? s.results(s.runs(1)[0]!.id).length : 0;
        s.close();
        if (n >= 2) {
          clearInterval(timer);
          child.kill('SIGINT');
        }
      } catch {
        /* not created yet */
      }
    }, 200);
    child.on('exit', (c) => {
      clearInterval(timer);
      resolve(c);
    });
  });
  t.is(code, 130, stderr);
  t.regex(stderr, /interrupted: run \d+ is kept in .*, marked incomplete, with \d+ results/);
  const s = new Store(db);
  const run = s.runs(1)[0]!;
  t.is(run.status, 'incomplete');
  t.true(s.results(run.id).length >= 2);
  s.close();
});
