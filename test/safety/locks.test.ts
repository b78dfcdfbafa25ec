// Two isoprobe runs at once: what they share is locked. The probe flocks its data file; the
// library's locks (data file, the machine while measuring, caches, daemons) are held by one
// process and waited for, named, bounded and released by death; the results database takes two
// runs creating it at once.
import test from 'ava';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { compare } from '../../lib/compare/compare';
import { IsoprobeError } from '../../lib/errors';
import { acquire, dataFileResource, lockPath, tryAcquire } from '../../lib/probe/lock';
import { probeBinaryPath } from '../../lib/paths';
import { runBlock } from '../../lib/probe/block';
import { makeTarget } from '../../lib/targets';
import { isRoot, QUICK, runProbe, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const LIB = join(__dirname, '..', '..', 'lib');
let serial = 0;
const unique = (what: string) => `test:${what}:${process.pid}:${serial++}`;

/** A child node process running `body` (with lock and daemons required); prints lines to stdout. */
function child(body: string, env: NodeJS.ProcessEnv = {}): { p: ChildProcess; line: (re: RegExp) => Promise<string>; exited: Promise<number | null> } {
  const script = `const lock = require(${JSON.stringify(join(LIB, 'probe', 'lock'))});
    const daemons = require(${JSON.stringify(join(LIB, 'targets', 'daemons'))});
    const say = (s) => process.stdout.write(s + '\\n');
    const next = () => new Promise((r) => process.stdin.once('data', r));
    (async () => { ${body} })().catch((e) => { say('error ' + e.message); process.exit(1); });`;
  const p = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  let out = '';
  const waiters: { re: RegExp; resolve: (s: string) => void }[] = [];
  p.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of [...waiters]) {
      const m = w.re.exec(out);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m[0]);
      }
    }
  });
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  const line = (re: RegExp) => new Promise<string>((resolve, reject) => {
    const m = re.exec(out);
    if (m) return resolve(m[0]);
    const timer = setTimeout(() => reject(new Error(`child: no ${re} within 20 s; output: ${out}`)), 20_000);
    waiters.push({ re, resolve: (s) => (clearTimeout(timer), resolve(s)) });
  });
  return { p, line, exited };
}

/** Whether `pid` holds a flock on `file`, as the kernel lists it in /proc/locks (not as isoprobe reads it). */
function flockedBy(file: string, pid: number): boolean {
  const { ino } = statSync(file);
  return readFileSync('/proc/locks', 'utf8').split('\n').some((l) => {
    const f = l.trim().split(/\s+/);
    return f[1] === 'FLOCK' && Number(f[4]) === pid && Number(f[5]?.split(':')[2]) === ino;
  });
}

test('the probe flocks its data file: a second run on it is refused with the holder, --lock=none shares it', async (t) => {
  const file = join(tmp.dir, 'probe-lock.dat');
  runProbe(['block', `--file=${file}`, '--size=4M', '--duration=10ms', '--warmup=0s']);
  const holder = spawn(probeBinaryPath(), ['block', `--file=${file}`, '--size=4M', '--duration=3s', '--warmup=0s'], { stdio: 'ignore' });
  // Until the holder has its lock (however long a loaded machine takes to start it); it keeps it 3 s.
  let holderExit: number | null | undefined;
  holder.once('exit', (code) => (holderExit = code));
  while (!flockedBy(file, holder.pid!) && holderExit === undefined) await sleep(20);
  t.is(holderExit, undefined, 'the holder is running, with its lock');
  const e = await t.throwsAsync(runBlock({ file, size: '4M', duration: '50ms', warmup: '0ns' }));
  t.is((e as IsoprobeError).code, 'ELOCKED');
  t.is((e as IsoprobeError).option, 'lock');
  t.is((e as Error).message, `--file ${file}: another process (pid ${holder.pid}) holds a lock on it, a concurrent isoprobe run on the same file; wait for it to end, or pass --lock=none to share the file`);
  const shared = await runBlock({ file, size: '4M', duration: '50ms', warmup: '0ns', lock: 'none' });
  t.is(shared.options.lock, 'none');
  t.true(shared.ops > 0);
  const code = await new Promise<number | null>((r) => holder.once('exit', r));
  t.is(code, 0, 'the holder finished its own run undisturbed');
  const after = await runBlock({ file, size: '4M', duration: '50ms', warmup: '0ns' });
  t.is(after.options.lock, 'exclusive');
});

test('a lock held by another process is waited for, named, bounded, and freed when its holder is killed', async (t) => {
  const res = unique('kill');
  const c = child(`const l = await lock.acquire(${JSON.stringify(res)}, { what: 'the test resource' }); say('held ' + process.pid); await next();`);
  await c.line(/held \d+/);
  const asked = Date.now();
  const e = await t.throwsAsync(acquire(res, { what: 'the test resource', timeoutMs: 300, onWait: () => undefined }));
  const sawMs = Date.now() - asked;
  t.is((e as IsoprobeError).code, 'ELOCKED');
  const m = new RegExp(`^the test resource is in use by pid ${c.p.pid}: .*\\(the test resource, since \\d{4}-.*\\); gave up after (\\d+) s \\(ISOPROBE_LOCK_TIMEOUT sets the wait, in seconds\\)$`).exec((e as Error).message);
  t.truthy(m, (e as Error).message);
  // It gives up at its first try after the 300 ms and says how long it waited, to the second: no
  // less than the bound, no more than this test saw.
  t.true(Number(m?.[1]) >= Math.round(0.3) && Number(m?.[1]) <= Math.round(sawMs / 1000), `"gave up after ${m?.[1]} s", after ${sawMs} ms here`);
  let told = '';
  const waiting = acquire(res, { what: 'the test resource', timeoutMs: 20_000, onWait: (m) => (told = m) });
  await new Promise((r) => setTimeout(r, 400));
  c.p.kill('SIGKILL');
  const l = await waiting;
  t.regex(told, new RegExp(`^waiting for the test resource, in use by pid ${c.p.pid}`));
  t.true(l.waitedMs >= 300, `waited ${l.waitedMs} ms`);
  l.release();
  t.false(existsSync(lockPath(res)), 'an exclusive holder removes its lock file on release');
});

test('shared holders coexist and keep an exclusive one out; a cancelled wait says so', async (t) => {
  const res = unique('shared');
  const a = tryAcquire(res, 'a', false)!;
  const b = tryAcquire(res, 'b', false);
  t.truthy(a);
  t.truthy(b, 'two shared holders');
  t.is(tryAcquire(res, 'x', true), undefined, 'no exclusive holder while shared ones hold it');
  const ac = new AbortController();
  const waiting = acquire(res, { what: 'the shared test resource', signal: ac.signal, onWait: () => undefined });
  setTimeout(() => ac.abort(), 200);
  const e = await t.throwsAsync(waiting);
  t.is((e as IsoprobeError).code, 'ECANCELED');
  t.is((e as Error).message, 'interrupted while waiting for the shared test resource');
  a.release();
  t.is(tryAcquire(res, 'x', true), undefined, 'one shared holder is enough to keep it out');
  b!.release();
  const x = tryAcquire(res, 'x', true);
  t.truthy(x);
  x!.release();
});

test('a block workload waits for the data file held by another run, and its verdict is its own', async (t) => {
  const file = join(tmp.dir, 'shared-data.dat');
  const session = await makeTarget('host').start({ dataFile: file, dataSize: 4 << 20, network: false });
  try {
    const other = await acquire(dataFileResource(file), { what: 'test' });
    let done = false;
    const run = session.run({ kind: 'block', options: { ...QUICK, size: '4M', direct: true } }).then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 1000));
    t.false(done, 'still waiting while another holds the data file');
    other.release();
    const r = await run;
    t.is(r.host_page_cache?.mode, 'bypassed');
  } finally {
    await session.stop();
  }
});

test('the same data file named two ways (relative, through a symlink) is one lock', (t) => {
  mkdirSync(join(tmp.dir, 'real'), { recursive: true });
  spawnSync('ln', ['-sfn', join(tmp.dir, 'real'), join(tmp.dir, 'link')]);
  t.is(dataFileResource(join(tmp.dir, 'link', 'd.dat')), dataFileResource(join(tmp.dir, 'real', 'd.dat')));
  t.is(dataFileResource(join(tmp.dir, 'real', '..', 'real', 'd.dat')), `data:${join(tmp.dir, 'real')}/d.dat`);
});

test.serial('compare measures one repetition at a time on the machine: it waits for another run and says how long', async (t) => {
  const other = await acquire('measure', { what: 'test' });
  let waitedNote = '';
  let toldAt = 0;
  const called = Date.now();
  const running = compare({
    targets: ['host'], reps: 1, spec: { dataFile: join(tmp.dir, 'measure.dat'), dataSize: 4 << 20 },
    suite: { name: 'one', workloads: [{ name: 'randread', workload: { kind: 'block', options: { ...QUICK, size: '4M' } } }] },
    onWait: (m) => ((waitedNote = m), (toldAt = Date.now())),
  });
  // Held 2 s from when compare says it waits (its set-up before that takes what the machine takes):
  // whole seconds, so the lower bound below is 2 s and not at a rounding edge.
  const told = (async () => { while (!toldAt) await sleep(20); })();
  await Promise.race([told, running]);
  await sleep(2000);
  const released = Date.now();
  other.release();
  const c = await running;
  const ended = Date.now();
  t.regex(waitedNote, new RegExp(`^waiting for the machine \\(another isoprobe run is measuring\\), in use by pid ${process.pid}`));
  // Its wait began before it said so and ended after the release, and it began no sooner than the
  // call and ended before compare did: the seconds it states (rounded) lie between those spans'.
  const note = c.warnings.map((w) => /^waited (\d+) s in all for other isoprobe runs measuring on this machine/.exec(w)).find(Boolean);
  t.truthy(note, c.warnings.join(' | '));
  const [lo, hi] = [Math.round((released - toldAt) / 1000), Math.round((ended - called) / 1000)];
  t.true(Number(note?.[1]) >= lo && Number(note?.[1]) <= hi, `"waited ${note?.[1]} s": held ${released - toldAt} ms after the notice, ${ended - called} ms in all`);
  t.is(c.cells[0]!.results.length, 1);
});

test('runs creating one results database at once all succeed, with one schema', async (t) => {
  const db = join(tmp.dir, 'race.db');
  const store = join(LIB, 'store', 'db');
  // Each child loads everything, then waits for the same "go": the opens land together.
  const kids = Array.from({ length: 6 }, (_, i) => child(`const { Store } = require(${JSON.stringify(store)}); say('ready'); await next();
    const s = new Store(${JSON.stringify(db)}); s.startRun({ suite: 's', reps: 1, targets: ['host'], command: 'race ${i}' }); s.close(); say('ok');`));
  await Promise.all(kids.map((k) => k.line(/ready/)));
  for (const k of kids) k.p.stdin!.end('go\n');
  const codes = await Promise.all(kids.map(async (k) => k.exited));
  t.deepEqual(codes, kids.map(() => 0));
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { Store } = require('../../lib/store/db') as typeof import('../../lib/store/db');
  const s = new Store(db);
  try {
    t.is(s.runs(10).length, kids.length);
  } finally {
    s.close();
  }
});

// A daemon isoprobe starts is stopped by the last isoprobe run that used it, never under another
// one still using it; a daemon someone else started is left alone. Fake containerd/ctr on PATH
// (the real ones may serve other tests), and a lock directory of the test's own.
const fakeSkip = isRoot ? undefined : 'needs root (the lock directory of a root run)';
testIf(fakeSkip, test)('the last run out stops a daemon isoprobe started; the first leaves it for the other' + why(fakeSkip), async (t) => {
  const bin = join(tmp.dir, 'fakebin');
  const state = join(tmp.dir, 'fake-containerd.pid');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'containerd'), `#!/bin/bash\necho $$ > ${state}\nexec -a containerd sleep 600\n`);
  writeFileSync(join(bin, 'ctr'), `#!/bin/bash\n[ "$1" = version ] && [ -s ${state} ] && kill -0 "$(cat ${state})" 2>/dev/null && echo Server: && exit 0\nexit 1\n`);
  chmodSync(join(bin, 'containerd'), 0o755);
  chmodSync(join(bin, 'ctr'), 0o755);
  const env = { PATH: `${bin}:${process.env.PATH}`, ISOPROBE_LOCK_DIR: join(tmp.dir, 'locks') };
  const body = "await daemons.ensureContainerd(); say('using ' + daemons.daemonsInUse().join(',')); await next(); await daemons.releaseDaemons(); say('released');";
  const a = child(body, env);
  await a.line(/using containerd/);
  const pid = Number(readFileSync(state, 'utf8'));
  const note = JSON.parse(readFileSync(join(tmp.dir, 'locks', 'daemon-containerd.json'), 'utf8')) as { pid: number; started_by: number };
  t.is(note.pid, pid);
  t.is(note.started_by, a.p.pid!);
  const b = child(body, env);
  await b.line(/using containerd/);
  t.is(Number(readFileSync(state, 'utf8')), pid, 'the second run used the running daemon, it did not start another');
  a.p.stdin!.end('go\n');
  await a.line(/released/);
  t.notThrows(() => process.kill(pid, 0), 'still running: the second run uses it');
  b.p.stdin!.end('go\n');
  await b.line(/released/);
  t.throws(() => process.kill(pid, 0), undefined, 'stopped by the last user');
  t.false(existsSync(join(tmp.dir, 'locks', 'daemon-containerd.json')));
  await Promise.all([a.exited, b.exited]);

  // Started by someone else (no note): used and left running.
  const own = spawn(join(bin, 'containerd'), [], { stdio: 'ignore', detached: true });
  await new Promise((r) => setTimeout(r, 300));
  const c = child(body, env);
  await c.line(/using containerd/);
  c.p.stdin!.end('go\n');
  await c.line(/released/);
  t.notThrows(() => process.kill(own.pid!, 0), 'a daemon isoprobe did not start is left alone');
  own.kill('SIGKILL');
});
