// A run whose isoprobe ended without finishing it (SIGKILL, a crash, a reboot) reads "interrupted"
// at the store's next open, its results kept; a run whose process lives never does. The rule is
// run on made-up /proc trees for each case (a reused pid, a zombie, another boot, another pid
// namespace, runs recorded before owners were), and end to end with a real process killed.
import test from 'ava';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { identityGone, type ProcessIdentity, processStart } from '../../lib/owner';
import { DB_SCHEMA, machineFingerprint, Store } from '../../lib/store/db';
import { runOwnerGone, sameMachine } from '../../lib/store/run-owner';
import { tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const CLI = join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js');
const LIB = join(__dirname, '..', '..', 'lib');
// eslint-disable-next-line @typescript-eslint/no-var-requires
const Sqlite = require('better-sqlite3') as typeof import('better-sqlite3');

let n = 0;
const BOOT = '6c1f0d52-0000-4000-8000-000000000001';
const NS = 'pid:[4026531836]';
const BTIME = 1_800_000_000;  // s since the epoch

/** A made-up /proc: a boot id, a boot time, this process's pid namespace, and processes (pid -> stat state, start ticks, argv). */
function fakeProc(procs: Record<number, { state?: string; start: number; argv?: string[] }>, o: { boot?: string; pidns?: string } = {}): string {
  const proc = join(tmp.dir, `proc${n++}`);
  mkdirSync(join(proc, 'sys', 'kernel', 'random'), { recursive: true });
  writeFileSync(join(proc, 'sys', 'kernel', 'random', 'boot_id'), `${o.boot ?? BOOT}\n`);
  writeFileSync(join(proc, 'stat'), `cpu  1 2 3 4\nbtime ${BTIME}\nprocesses 9\n`);
  mkdirSync(join(proc, 'self', 'ns'), { recursive: true });
  symlinkSync(o.pidns ?? NS, join(proc, 'self', 'ns', 'pid'));
  for (const [pid, p] of Object.entries(procs)) {
    mkdirSync(join(proc, pid));
    // A command name with a space and a parenthesis: the fields are counted after its last ')'.
    const after = [p.state ?? 'S', 1, pid, pid, 0, -1, 4194560, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 1, 0, p.start, 1000, 10];
    writeFileSync(join(proc, pid, 'stat'), `${pid} (node (x) y) ${after.join(' ')}\n`);
    writeFileSync(join(proc, pid, 'cmdline'), `${(p.argv ?? ['node']).join('\0')}\0`);
  }
  return proc;
}

const ID: ProcessIdentity = { pid: 4242, start: 90_000, boot: BOOT, pidns: NS };

test('processStart reads field 22 after the command name, and a zombie has none', (t) => {
  const proc = fakeProc({ 7: { start: 12345 }, 8: { state: 'Z', start: 5 } });
  t.is(processStart(7, proc), 12345);
  t.is(processStart(8, proc), undefined, 'a zombie holds nothing: gone');
  t.is(processStart(9, proc), undefined, 'no such pid');
  t.is(processStart(process.pid), processStart(process.pid), 'this process reads the same start twice');
  t.true(processStart(process.pid)! > 0);
});

test("a recorded process is gone when its pid is absent, a zombie, another process's, or the machine booted since; undecided in another pid namespace", (t) => {
  const cases: [string, string, boolean | undefined][] = [
    ['alive: the same pid, start and boot', fakeProc({ 4242: { start: 90_000 } }), false],
    ['no process of that pid', fakeProc({}), true],
    ['a zombie', fakeProc({ 4242: { state: 'Z', start: 90_000 } }), true],
    ['the pid reused by a later process', fakeProc({ 4242: { start: 95_000 } }), true],
    ['another boot: every process of the last one ended', fakeProc({ 4242: { start: 90_000 } }, { boot: '6c1f0d52-0000-4000-8000-000000000002' }), true],
    ["another pid namespace: its pids are other processes here", fakeProc({}, { pidns: 'pid:[4026532999]' }), undefined],
  ];
  for (const [what, proc, want] of cases) t.is(identityGone(ID, proc), want, what);
});

const here = { hostname: 'edge-1', machine_id_sha256: 'aaaa' };
const facts = (o: Partial<Parameters<typeof runOwnerGone>[0]>) => ({
  started_at: new Date(BTIME * 1000 + 600_000).toISOString(), machine: JSON.stringify(here), owner: JSON.stringify(ID),
  command: 'isoprobe compare --targets host,runc --reps 2', note: null, ...o,
});

test("a run is judged only on its own machine and when not imported", (t) => {
  const proc = fakeProc({});
  t.true(runOwnerGone(facts({}), here, proc), 'this machine, its process gone');
  t.is(runOwnerGone(facts({ machine: JSON.stringify({ hostname: 'edge-2', machine_id_sha256: 'aaaa' }) }), here, proc), undefined, 'another host name');
  t.is(runOwnerGone(facts({ machine: JSON.stringify({ hostname: 'edge-1', machine_id_sha256: 'bbbb' }) }), here, proc), undefined, 'another machine-id');
  t.is(runOwnerGone(facts({ note: 'imported from ci.json' }), here, proc), undefined, 'an imported run is as it was exported');
  t.true(sameMachine({ hostname: 'edge-1' }, here), 'no machine-id recorded: the host name decides');
});

test('a run recorded before owners were: gone when started before this boot, or when no process that had started by then runs its command', (t) => {
  const atStart = 60_000;  // ticks after boot: the run started 600 s after boot
  const cmd = ['node', '/opt/isoprobe/bin/isoprobe.js', 'compare', '--targets', 'host,runc', '--reps', '2'];
  const legacy = (o: Partial<Parameters<typeof runOwnerGone>[0]> = {}) => facts({ owner: null, ...o });
  t.true(runOwnerGone(legacy({ started_at: new Date(BTIME * 1000 - 1000).toISOString() }), here, fakeProc({ 10: { start: 1, argv: cmd } })), 'started before this boot');
  t.false(runOwnerGone(legacy(), here, fakeProc({ 10: { start: atStart - 100, argv: cmd } })), 'its command runs in a process that started before it');
  t.true(runOwnerGone(legacy(), here, fakeProc({ 10: { start: atStart + 3000, argv: cmd } })), 'the same command run again 30 s later is another process');
  t.true(runOwnerGone(legacy(), here, fakeProc({ 10: { start: 100, argv: ['node', 'server.js'] } })), 'no process runs it');
});

/** A child that records a run with two results in a store, says "ready" and waits for stdin. */
function recorder(db: string): { p: ChildProcess; ready: Promise<number> } {
  const script = `const { Store } = require(${JSON.stringify(join(LIB, 'store', 'db'))});
    const s = new Store(${JSON.stringify(db)});
    const id = s.startRun({ suite: 'quick', reps: 2, targets: ['host'], command: 'isoprobe compare --targets host' });
    for (const rep of [0, 1]) s.addResult(id, 'randread', 'host', rep, { kind: 'block', probe: { sha256: 'x' } });
    process.stdout.write('ready ' + id + '\\n');
    process.stdin.resume();`;
  const p = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const ready = new Promise<number>((resolve, reject) => {
    let out = '';
    p.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    p.once('exit', (code) => reject(new Error(`the recorder exited with ${code}`)));
  });
  return { p, ready };
}

test('a live run stays running at every open; once its process is SIGKILLed the next open marks it interrupted, and history shows it with its results', async (t) => {
  const db = join(tmp.dir, 'killed.db');
  const r = recorder(db);
  t.teardown(() => r.p.kill('SIGKILL'));
  const id = await r.ready;
  for (let i = 0; i < 3; i++) {
    const s = new Store(db);
    t.deepEqual(s.interrupted, [], 'nothing to mark while the recorder lives');
    t.is(s.run(id).status, 'running');
    s.close();
  }
  const before = new Store(db);
  const owner = JSON.parse(before.run(id).owner!) as ProcessIdentity;
  before.close();
  t.is(owner.pid, r.p.pid!, 'the run names its process');
  r.p.kill('SIGKILL');
  await new Promise((res) => r.p.once('exit', res));
  const s = new Store(db);
  try {
    t.deepEqual(s.interrupted, [{ id, pid: r.p.pid, results: 2 }]);
    t.is(s.run(id).status, 'interrupted');
    t.regex(s.run(id).note!, new RegExp(`^interrupted: its isoprobe \\(pid ${r.p.pid}\\) ended without finishing it`));
    t.is(s.results(id).length, 2, 'its results are kept');
  } finally {
    s.close();
  }
  const again = new Store(db);
  t.deepEqual(again.interrupted, [], 'marked once: the next open finds nothing more');
  again.close();
  const h = spawnSync(process.execPath, [CLI, 'history', '--db', db], { encoding: 'utf8', timeout: 60_000 });
  t.is(h.status, 0, h.stderr);
  t.regex(h.stdout, new RegExp(`^\\s+${id}  \\S+  interrupted  .* \\(2 results\\)$`, 'm'));
});

test('the CLI says which runs it marked interrupted, with their result counts', async (t) => {
  const db = join(tmp.dir, 'said.db');
  const r = recorder(db);
  t.teardown(() => r.p.kill('SIGKILL'));
  const id = await r.ready;
  r.p.kill('SIGKILL');
  await new Promise((res) => r.p.once('exit', res));
  const h = spawnSync(process.execPath, [CLI, 'history', '--db', db, '--json'], { encoding: 'utf8', timeout: 60_000 });
  t.is(h.status, 0, h.stderr);
  t.is(h.stderr, `isoprobe: run ${id} in ${db} was left running by an isoprobe (pid ${r.p.pid}) that has ended (killed?): marked interrupted; its 2 finished results are kept\n`);
  t.is((JSON.parse(h.stdout) as { status: string }[])[0]!.status, 'interrupted');
});

// The schema-2 tables as isoprobe wrote them before runs recorded their process.
const SCHEMA2 = `
  CREATE TABLE isoprobe_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  INSERT INTO isoprobe_meta VALUES ('schema', '2');
  CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete', 'failed')),
    suite TEXT NOT NULL, reps INTEGER NOT NULL, targets TEXT NOT NULL, machine TEXT NOT NULL, command TEXT NOT NULL, note TEXT);
  CREATE TABLE results (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, workload TEXT NOT NULL,
    target TEXT NOT NULL, rep INTEGER NOT NULL, kind TEXT NOT NULL, probe_sha256 TEXT NOT NULL, emulated INTEGER NOT NULL, host_page_cache TEXT, json TEXT NOT NULL);
  CREATE INDEX results_run ON results(run_id, workload, target);
  CREATE TABLE failures (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE, workload TEXT NOT NULL,
    target TEXT NOT NULL, rep INTEGER NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL);`;

test(`a schema-2 store is upgraded to ${DB_SCHEMA} keeping every run, result and failure; its killed run becomes interrupted, one whose command still runs does not`, async (t) => {
  const db = join(tmp.dir, 'old.db');
  // A process running the command of the second running run, started before the run was recorded.
  const marker = `--marker-${process.pid}-${Date.now()}`;
  const live = spawn(process.execPath, ['-e', 'process.stdin.resume()', 'compare', marker], { stdio: ['pipe', 'ignore', 'inherit'] });
  await new Promise((r) => setTimeout(r, 200));
  const old = new Sqlite(db);
  old.exec(SCHEMA2);
  const machine = JSON.stringify(machineFingerprint());
  const now = new Date(Date.now() + 1500).toISOString();
  const add = old.prepare('INSERT INTO runs (started_at, finished_at, status, suite, reps, targets, machine, command, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  add.run(now, now, 'complete', 'quick', 1, 'host', machine, 'isoprobe compare --targets host', null);
  add.run(now, null, 'running', 'quick', 2, 'host,runc', machine, `isoprobe compare --targets host,runc --no-such-process-${process.pid}`, null);
  add.run(now, null, 'running', 'quick', 2, 'host', machine, `isoprobe compare ${marker}`, null);
  add.run(now, null, 'running', 'quick', 2, 'host', JSON.stringify({ hostname: 'elsewhere' }), 'isoprobe compare --x', null);
  const res = old.prepare("INSERT INTO results (run_id, workload, target, rep, kind, probe_sha256, emulated, json) VALUES (?, 'w', 'host', ?, 'block', 'x', 0, '{}')");
  for (const [run, k] of [[1, 3], [2, 2], [3, 1]] as const) for (let i = 0; i < k; i++) res.run(run, i);
  old.prepare("INSERT INTO failures (run_id, workload, target, rep, code, message) VALUES (2, 'w', 'runc', 0, 'ERUNTIME', 'no')").run();
  old.close();
  try {
    const s = new Store(db);
    try {
      t.is((s.db.prepare("SELECT value FROM isoprobe_meta WHERE key = 'schema'").get() as { value: string }).value, String(DB_SCHEMA));
      t.deepEqual(s.interrupted, [{ id: 2, pid: undefined, results: 2 }], 'only the run whose command no process runs');
      t.deepEqual(s.runs(10).reverse().map((r) => [r.id, r.status]), [[1, 'complete'], [2, 'interrupted'], [3, 'running'], [4, 'running']]);
      t.deepEqual([1, 2, 3, 4].map((id) => s.results(id).length), [3, 2, 1, 0], 'every result kept');
      t.is(s.failures(2).length, 1, 'and the failure');
      t.deepEqual(s.db.pragma('foreign_key_check'), []);
      t.is(s.db.pragma('integrity_check', { simple: true }), 'ok');
      // The upgraded table takes the new status and keeps its foreign keys: deleting a run deletes its results.
      s.db.prepare('DELETE FROM runs WHERE id = 1').run();
      t.is(s.results(1).length, 0);
    } finally {
      s.close();
    }
  } finally {
    live.kill('SIGKILL');
  }
});
