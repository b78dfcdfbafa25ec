// What a killed isoprobe leaves, the next run sweeps: a SIGKILL'd microVM run leaves no VMM running
// (it dies with isoprobe) and its namespace and work folder are removed by the next run; a
// SIGKILL'd container run's container likewise; folders of dead makers go, live ones and names not
// of isoprobe's making stay; cgroups a runtime named after a dead maker's container go from every
// hierarchy once empty; a compare killed at seeded random moments reads "interrupted" afterwards,
// its results kept, and a live one stays "running". Driven through the CLI as a user would,
// checked with ip, runc, findmnt, ls and the store's own tables.
import test, { type ExecutionContext } from 'ava';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { accountingHierarchy, cgroupHierarchies } from '../../lib/cost/cgroup';
import { rng } from '../../lib/stats/resample';
import { isRoot, targetSkips, tempDir, testIf, why } from '../helpers';

const CLI = join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js');
const tmp = tempDir();
test.after.always(() => tmp.cleanup());
// The runs killed here, and the next runs, keep their work folders in a temporary folder of this
// test's own (TMPDIR): other tests' commands, sweeping at the same time, do not meet them there.
const TMP = join(tmp.dir, 'tmp');
mkdirSync(TMP);
const ENV = { ...process.env, TMPDIR: TMP };
const rootSkip = isRoot ? undefined : 'namespaces, containers and VMs need root';
const skips = isRoot ? targetSkips(['qemu-microvm', 'runc']) : new Map<string, string | undefined>();
const qemuSkip = rootSkip ?? skips.get('qemu-microvm');
const runcSkip = rootSkip ?? skips.get('runc');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
// eslint-disable-next-line @typescript-eslint/no-var-requires
const Sqlite = require('better-sqlite3') as typeof import('better-sqlite3');
const mark = (pid: number) => pid.toString(36);

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}

function pidsIn(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split('\n').map(Number).filter((p) => p > 0);
  } catch {
    return [];  // the namespace is gone
  }
}

function tempFolders(m: string): string[] {
  return readdirSync(TMP).filter((d) => d.startsWith('isoprobe-') && d.includes(`-${m}-`));
}

async function until<T>(what: string, f: () => T | undefined, ms: number, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

function start(args: string[]): { child: ChildProcess; exited: Promise<unknown>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: ENV });
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdout!.resume();
  return { child, exited: new Promise((r) => child.once('exit', r)), stderr: () => err };
}

/** The next isoprobe run: a short host workload, which sweeps first. */
function nextRun(): string {
  const r = spawnSync(process.execPath, [CLI, 'run', '--target', 'host', 'block', '--duration', '100ms', '--warmup', '10ms', '--data-file', join(tmp.dir, 'next.dat'), '--data-size', '4M'],
    { encoding: 'utf8', timeout: 60_000, env: ENV });
  if (r.status !== 0) throw new Error(`the next run failed: ${r.stderr}`);
  return r.stderr;
}

testIf(qemuSkip, test.serial)(`a SIGKILL'd microVM run: its VMM dies with it; the next run removes its namespace and work folder, and says so${why(qemuSkip)}`, async (t) => {
  const run = start(['run', '--target', 'qemu-microvm', '--accel', 'tcg', 'net', 'rr', '--duration', '20s', '--data-file', join(tmp.dir, 'vm.dat'), '--data-size', '4M']);
  const m = mark(run.child.pid!);
  const ns = await until('the VM namespace with the VMM in it', () => namespaces().find((n) => n.startsWith(`isoprobe-vm${m}-`) && pidsIn(n).length), 120_000);
  const vmm = await until('the VMM pids', () => (pidsIn(ns).length ? pidsIn(ns) : undefined), 5000);
  await sleep(1500);
  t.true(tempFolders(m).length > 0, 'the run has its work folder');
  run.child.kill('SIGKILL');
  await run.exited;
  // The VMM got SIGKILL from the kernel when its parent died (parent-death signal): nothing in the namespace.
  await until('the VMM to die with isoprobe', () => (pidsIn(ns).length === 0 ? true : undefined), 3000).catch(() => undefined);
  t.deepEqual(pidsIn(ns), [], `VMM pids ${vmm.join(', ')} still run after isoprobe was killed`);
  for (const p of vmm) t.false(existsSync(`/proc/${p}`) && !/ Z /.test(execFileSync('cat', [`/proc/${p}/stat`], { encoding: 'utf8' })), `pid ${p} is gone`);
  const said = nextRun();
  t.false(namespaces().includes(ns), 'the namespace is gone after the next run');
  t.deepEqual(tempFolders(m), [], 'the work folder is gone after the next run');
  // The work folder is in this test's own TMPDIR, so only the next run can have removed it: it says so.
  // (The namespace is global: another test's command, sweeping at the same moment, may be the one that removed it.)
  t.regex(said, new RegExp(`^isoprobe: removed what isoprobe runs that are gone left behind: .*work folders [^;]*${TMP}/isoprobe-qemu-microvm-${m}-`, 'm'));
});

testIf(runcSkip, test.serial)(`a SIGKILL'd runc run: the next run removes its container, namespaces and work folder${why(runcSkip)}`, async (t) => {
  // runc list fails when a container's state directory goes while it reads them (another test
  // file's container ending): read again.
  const list = (): string[] => {
    for (let i = 0; ; i++) {
      try {
        return execFileSync('runc', ['--root', '/run/isoprobe/runc', 'list', '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n').filter(Boolean);
      } catch (e) {
        if (i >= 5 || !/no such file or directory/.test(String((e as { stderr?: string }).stderr))) throw e;
        execFileSync('sleep', ['0.1']);
      }
    }
  };
  const run = start(['run', '--target', 'runc', 'net', 'rr', '--duration', '20s']);
  const m = mark(run.child.pid!);
  const id = await until('the container', () => list().find((c) => c.startsWith(`iso-runc-${m}-`)), 60_000);
  await sleep(1500);
  run.child.kill('SIGKILL');
  await run.exited;
  // A runtime keeps a detached container after its maker dies; only a sweep removes it. (Another
  // test file's command may sweep it first, at any moment from now: the claim is that it goes.)
  if (!list().includes(id)) t.log(`${id} was already swept by a concurrent isoprobe command`);
  nextRun();
  t.false(list().includes(id), `container ${id} is removed by the next run`);
  t.deepEqual(namespaces().filter((n) => n.includes(m)), [], 'its namespaces are removed');
  t.deepEqual(tempFolders(m), [], 'its work folder is removed');
});

testIf(qemuSkip, test.serial)(`a microVM session's namespace is on the exit-time list: a process that exits without stop() leaves none${why(qemuSkip)}`, (t) => {
  const lib = JSON.stringify(join(__dirname, '..', '..', 'lib', 'targets'));
  const script = `require(${lib}).makeTarget('qemu-microvm').start({ accel: 'tcg', network: true }).then(() => {
    process.stdout.write(process.pid.toString(36)); process.exit(0); }, (e) => { console.error(e); process.exit(1); });`;
  const m = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  t.true(m.length > 0);
  t.deepEqual(namespaces().filter((n) => n.startsWith(`isoprobe-vm${m}-`)), [], 'the VM namespace was deleted at exit');
});

testIf(rootSkip, test.serial)(`folders of dead makers are removed; a live maker's, and names not of isoprobe's making, stay${why(rootSkip)}`, (t) => {
  // pid_max is at most 4194304: a mark above it can never be a running process.
  const dead = join(TMP, `isoprobe-test-${mark(4_000_000)}-swept`);
  const live = join(TMP, `isoprobe-test-${mark(process.pid)}-kept`);
  const foreign = [join(TMP, 'isoprobe-testing-kept'), join(TMP, `isoprobe-test-${'z'.repeat(9)}-kept`)];
  for (const d of [dead, live, ...foreign]) mkdirSync(d, { recursive: true });
  try {
    const said = nextRun();
    t.false(existsSync(dead), 'a dead maker\'s folder is removed');
    t.regex(said, new RegExp(`^isoprobe: removed what isoprobe runs that are gone left behind: .*work folders [^;]*${dead}`, 'm'), 'and the run that removed it says so');
    t.true(existsSync(live), 'a running maker\'s folder stays');
    for (const f of foreign) t.true(existsSync(f), `${f} is not of isoprobe's naming and stays`);
    if (!existsSync(dead)) t.notRegex(said, /kept/);
  } finally {
    for (const d of [dead, live, ...foreign]) execFileSync('rm', ['-rf', d]);
  }
});

const cgRoot = isRoot ? accountingHierarchy()?.root : undefined;
const cgSkip = rootSkip ?? (cgRoot ? undefined : 'this machine mounts no CPU accounting cgroup hierarchy');
testIf(cgSkip, test.serial)(`a dead maker's accounting cgroup is removed by the next run, its process moved out first; a live maker's stays${why(cgSkip)}`, async (t) => {
  const dead = join(cgRoot!, `isoprobe-${mark(4_000_001)}-vm-0`);
  const live = join(cgRoot!, `isoprobe-${mark(process.pid)}-test-0`);
  mkdirSync(live);
  // A process still inside the dead maker's cgroup (a VMM that outlived its maker).
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    // Any isoprobe run sweeps, and the other test files start them all the time: one may sweep the
    // dead cgroup between its making and this run's start (seen once). Then this run had nothing
    // to say; the leftover is made again, up to three times, and one of the runs must say so.
    let said = '';
    for (let attempt = 0; attempt < 3 && !new RegExp(`cgroups [^;]*${dead}`).test(said); attempt++) {
      mkdirSync(dead);
      writeFileSync(join(dead, 'cgroup.procs'), String(sleeper.pid));
      said = nextRun();
      t.false(existsSync(dead), "the dead maker's cgroup is gone");
    }
    t.regex(said, new RegExp(`cgroups [^;]*${dead}`), 'the run says so');
    t.true(existsSync(live), "a running maker's cgroup stays");
    t.false(readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8').includes(dead.slice(cgRoot!.length)), 'its process was moved out, not killed');
  } finally {
    sleeper.kill();
    for (const d of [dead, live]) if (existsSync(d)) rmdirSync(d);
  }
});

/** Every cgroup hierarchy's mount point, read by util-linux findmnt (not by isoprobe). */
function hierarchiesByFindmnt(): string[] {
  return execFileSync('findmnt', ['-t', 'cgroup,cgroup2', '-n', '-o', 'TARGET'], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

const allCg = isRoot ? hierarchiesByFindmnt() : [];
const allCgSkip = rootSkip ?? (allCg.length ? undefined : 'this machine mounts no cgroup hierarchy');
testIf(allCgSkip, test.serial)(`cgroups and state folders a runtime killed mid-start left for a dead maker's container go, from every hierarchy once empty; one with a process in it or named by one, a live maker's, and names not of isoprobe's making stay${why(allCgSkip)}`, async (t) => {
  t.deepEqual([...cgroupHierarchies()].sort(), [...allCg].sort(), 'isoprobe sees the hierarchies findmnt lists');
  // As runc names a container's cgroup under each hierarchy: the container's name (iso-runc-MARK-...).
  const dead = `iso-runc-${mark(4_000_002)}-c1`;
  const busy = `iso-runc-${mark(4_000_002)}-c2`;
  const live = `iso-runc-${mark(process.pid)}-c3`;
  const making = `iso-runc-${mark(4_000_002)}-c5`;
  const foreign = [`iso-runc-notours`, `runc-${mark(4_000_002)}-c4`];
  const names = [dead, busy, live, making, ...foreign];
  for (const h of allCg) for (const n of names) mkdirSync(join(h, n));
  // runc's state folder of a container it never finished (no state.json), a dead maker's and a live one's.
  const state = (n: string) => join('/run/isoprobe/runc', n);
  for (const n of [dead, live, making]) mkdirSync(state(n), { recursive: true });
  // A runtime still at work on a container of a maker just killed: a process that names it.
  const runtime = spawn('sh', ['-c', 'sleep 30', making], { stdio: 'ignore' });
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  const holding = allCg.filter((h) => {
    try {
      writeFileSync(join(h, busy, 'cgroup.procs'), String(sleeper.pid));
      return true;
    } catch {
      return false;  // a hierarchy that takes no process there (a v1 cpuset with no CPUs set)
    }
  });
  try {
    t.true(holding.length > 0, 'the process is in the busy cgroup under some hierarchy');
    const said = nextRun();
    for (const h of allCg) {
      t.false(existsSync(join(h, dead)), `${h}/${dead} is removed`);
      t.is(existsSync(join(h, busy)), holding.includes(h), `${h}/${busy} stays exactly where a process is in it`);
      t.true(existsSync(join(h, live)), `${h}/${live}: its maker runs`);
      t.true(existsSync(join(h, making)), `${h}/${making}: a process names it`);
      for (const f of foreign) t.true(existsSync(join(h, f)), `${h}/${f} is not of isoprobe's naming`);
    }
    const line = new RegExp(`cgroups [^;]*${dead} under ([^;]*)`).exec(said);
    t.truthy(line, `the run says so: ${said}`);
    for (const h of allCg) t.true(line?.[1]?.includes(h), `the line names ${h}`);
    t.false(existsSync(state(dead)), "the dead maker's half-made state folder is removed");
    t.regex(said, new RegExp(`state folders of containers never finished [^;]*${state(dead)}`));
    t.true(existsSync(state(live)), "a live maker's stays");
    t.true(existsSync(state(making)), 'one a process names stays');
  } finally {
    for (const p of [sleeper, runtime]) {
      p.kill('SIGKILL');
      await new Promise((r) => p.once('exit', r));
    }
    for (const n of [dead, live, making]) execFileSync('rm', ['-rf', state(n)]);
    for (const h of allCg) for (const n of names) {
      for (let i = 0; i < 50 && existsSync(join(h, n)); i++) {
        try {
          rmdirSync(join(h, n));
        } catch {
          await sleep(20);  // the sleeper is still leaving
        }
      }
    }
  }
});

// --- A compare killed at seeded random moments ----------------------------------------------------

const SEED = Number(process.env.ISOPROBE_KILL_SEED) || 1 + (Date.now() % 1_000_000);
const killTargets = runcSkip ? 'host' : 'host,runc';
const runcPart = runcSkip ? ` [runc part skipped: ${runcSkip}]` : '';

interface Killed {
  pid: number;
  how: string;
  /** When it was started and when it was dead, ms since the epoch: its run, if any, started between. */
  from: number;
  to: number;
}

/** The process tree under a pid (children by /proc/PID/stat's ppid), with each one's argv. */
function descendants(root: number): { pid: number; argv: string[] }[] {
  const kids = new Map<number, number[]>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]);
      kids.set(ppid, [...(kids.get(ppid) ?? []), Number(d)]);
    } catch {
      /* ended */
    }
  }
  const out: { pid: number; argv: string[] }[] = [];
  const walk = (p: number) => {
    for (const c of kids.get(p) ?? []) {
      try {
        out.push({ pid: c, argv: readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').filter(Boolean) });
      } catch {
        continue;
      }
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** Names under the cgroup hierarchies (findmnt's list) that carry a mark, each as its path. */
function cgroupsOf(m: string): string[] {
  return allCg.flatMap((h) => readdirSync(h).filter((n) => n.startsWith('iso') && n.includes(`-${m}-`)).map((n) => join(h, n)));
}

/** Processes (zombies aside: they run nothing) in a cgroup of any hierarchy that carries a mark, with their state and argv. */
function processesIn(m: string): string[] {
  return readdirSync('/proc').filter((x) => /^\d+$/.test(x)).flatMap((p) => {
    try {
      if (!readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(`-${m}-`)) return [];
      const st = readFileSync(`/proc/${p}/stat`, 'utf8');
      const state = st.slice(st.lastIndexOf(')') + 2).split(' ')[0];
      return state === 'Z' ? [] : [`${p} ${state} ${readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ')}`];
    } catch {
      return [];
    }
  });
}

interface Launched {
  child: ChildProcess;
  exited: Promise<void>;
  from: number;
}

/**
 * Starts an isoprobe command in a process group of its own; once it has exited, what it wrote on
 * stderr goes to `said` (after its pipe drains: a second at most, a child it left may hold it open).
 */
function launch(args: string[], env: NodeJS.ProcessEnv, said: string[], started: ChildProcess[]): Launched {
  const from = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env, detached: true });
  started.push(child);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((res) => child.once('exit', () => {
    const done = () => (said.push(err), res());
    const bound = setTimeout(done, 1000);
    child.stderr!.once('close', () => (clearTimeout(bound), done()));
  }));
  return { child, exited, from };
}

/** SIGKILL to a process group that may have ended already (ESRCH: nothing left to kill). */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

/** SIGKILL to the whole process group (as a terminal's job control or a CI runner's timeout sends it) or to isoprobe alone. */
async function killIt(c: Launched, group: boolean, how: string): Promise<Killed> {
  // A command that already ended cannot be killed: say how it ended rather than "kill ESRCH".
  if (c.child.exitCode !== null || c.child.signalCode !== null) {
    await c.exited;
    throw new Error(`isoprobe ended by itself (exit ${c.child.exitCode ?? c.child.signalCode}) ${Date.now() - c.from} ms after its start, before the kill (${how}) it was to get`);
  }
  try {
    process.kill(group ? -c.child.pid! : c.child.pid!, 'SIGKILL');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    await c.exited;
    throw new Error(`isoprobe ended by itself (exit ${c.child.exitCode ?? c.child.signalCode}) ${Date.now() - c.from} ms after its start, just before the kill (${how}) it was to get`);
  }
  await c.exited;
  return { pid: c.child.pid!, how, from: c.from, to: Date.now() };
}

interface StoredRun {
  id: number;
  status: string;
  note: string | null;
  /** Its results, counted in the store's own table. */
  n: number;
  /** started_at, ms since the epoch. */
  at: number;
}

/** The runs of a store, read with SQLite directly (not through isoprobe). */
function storedRuns(db: string): StoredRun[] {
  const s = new Sqlite(db, { readonly: true, fileMustExist: true });
  try {
    return (s.prepare('SELECT id, status, started_at, note, (SELECT count(*) FROM results WHERE run_id = runs.id) AS n FROM runs ORDER BY id').all() as (StoredRun & { started_at: string })[])
      .map((x) => ({ id: x.id, status: x.status, note: x.note, n: x.n, at: Date.parse(x.started_at) }));
  } finally {
    s.close();
  }
}

/** A killed compare's run reads interrupted, in the store and in history, with its results counted, and was said so once. */
function checkInterrupted(t: ExecutionContext, k: Killed, row: StoredRun, history: string, said: string, db: string, killed: Killed[]): void {
  t.is(row.status, 'interrupted', `pid ${k.pid}'s run ${row.id} (${k.how})`);
  const line = new RegExp(`^\\s+${row.id}  \\S+  interrupted  .*\\((\\d+) results`, 'm').exec(history);
  t.is(Number(line?.[1]), row.n, `history shows run ${row.id} with its ${row.n} results`);
  const notes = said.split('\n').filter((l) => l.startsWith(`isoprobe: run ${row.id} in ${db} was left running`));
  const marker = Number(/by pid (\d+)$/.exec(row.note ?? '')?.[1]);
  // Said once by the command that marked it, unless that command was itself killed in between.
  if (notes.length || !killed.some((x) => x.pid === marker))
    t.deepEqual(notes, [`isoprobe: run ${row.id} in ${db} was left running by an isoprobe (pid ${k.pid}) that has ended (killed?): marked interrupted; its ${row.n} finished result${row.n === 1 ? ' is' : 's are'} kept`], 'said once, by the open that marked it');
}

/** Nothing of a killed compare's stays: no cgroup of its naming under any hierarchy, no process in one, no namespace, container or runc state folder. */
async function checkNothingLeft(t: ExecutionContext, k: Killed): Promise<void> {
  const m = mark(k.pid);
  t.deepEqual(cgroupsOf(m), [], `no cgroup of pid ${k.pid}'s (${k.how}) under any hierarchy`);
  // A process killed by the sweep may take a moment to finish exiting: waited for, a few seconds at most.
  await until('their processes to finish exiting', () => (processesIn(m).length ? undefined : true), 3000).catch(() => undefined);
  t.deepEqual(processesIn(m), [], `no process in a cgroup of pid ${k.pid}'s`);
  t.deepEqual(namespaces().filter((n) => n.includes(m)), [], `no namespace of pid ${k.pid}'s`);
  if (runcSkip) return;
  t.deepEqual(execFileSync('runc', ['--root', '/run/isoprobe/runc', 'list', '-q'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n').filter((c) => c.includes(`-${m}-`)), [], `no runc container of pid ${k.pid}'s`);
  t.deepEqual(readdirSync('/run/isoprobe/runc').filter((n) => n.includes(`-${m}-`)), [], `no runc state folder of pid ${k.pid}'s`);
}

testIf(rootSkip, test.serial)(`compare --targets ${killTargets} SIGKILLed at seeded random moments (seed ${SEED}; ISOPROBE_KILL_SEED=${SEED} replays it): each killed run reads interrupted with its results kept and counted, nothing of it stays in any cgroup hierarchy or runs; a live run stays running${runcPart}${why(rootSkip)}`, async (t) => {
  t.timeout(240_000);  // a guard against a hang only: the whole test takes about 35 s here
  const r = rng(SEED);
  const db = join(tmp.dir, 'killed.db');
  // A lock directory of the test's own: these runs wait for one another, not for other test files' measurements.
  const env = { ...ENV, ISOPROBE_LOCK_DIR: join(tmp.dir, 'locks') };
  const compareArgs = ['compare', '--targets', killTargets, '--suite', 'quick', '--reps', '2', '--db', db, '--data-file', join(tmp.dir, 'kill.dat'), '--data-size', '16M'];
  const said: string[] = [];
  const killed: Killed[] = [];
  const started: ChildProcess[] = [];
  // A failed assertion leaves no command of the test's running.
  // (A group may be gone before its leader's exit is seen here: nothing left to kill is no failure.)
  t.teardown(() => {
    for (const c of started) if (c.exitCode === null && c.signalCode === null) killGroup(c.pid!);
  });
  for (let i = 0; i < 3; i++) {
    const group = r() < 0.5;
    const at = Math.round(300 + r() * 8700);
    const c = launch(compareArgs, env, said, started);
    await sleep(at);
    killed.push(await killIt(c, group, `${group ? 'its process group' : 'isoprobe alone'} at ${at} ms`));
  }
  if (!runcSkip) {
    // One kill while runc starts a container: a runtime killed mid-start leaves cgroups and no container.
    const c = launch(compareArgs, env, said, started);
    const extra = Math.round(r() * 30);
    const found = await until('runc starting a container', () => descendants(c.child.pid!).find((p) => p.argv[0]?.endsWith('runc') && p.argv.includes('run')), 60_000, 5).catch(() => undefined);  // runc run lives ~100 ms: look often
    await sleep(extra);
    killed.push(await killIt(c, true, `its process group ${extra} ms after runc started ${found ? 'a container' : '(never seen)'}`));
  }
  t.log(`seed ${SEED}: killed ${killed.map((k) => `pid ${k.pid} (${k.how})`).join('; ')}`);

  // A run that lives through the next run's open and sweep. Each compare's run is told by when it
  // started: the commands ran one after the other, but for the live and the next one.
  const alive = launch(compareArgs, env, said, started);
  const aliveRow = await until('the live run recorded', () => (existsSync(db) ? storedRuns(db).find((x) => x.at >= alive.from) : undefined), 60_000);
  await sleep(1500);
  const aliveCgroups = cgroupsOf(mark(alive.child.pid!));

  // The next run: it opens the store, sweeps, records its own run (so both are done), waits for
  // the live run's measurements, measures and completes.
  const suite = join(tmp.dir, 'tiny.json');
  writeFileSync(suite, JSON.stringify({ name: 'tiny', workloads: [{ name: 'randread', kind: 'block', options: { pattern: 'randread', bs: '4k', duration: '100ms', warmup: '10ms' } }] }));
  const next = launch(['compare', '--targets', 'host', '--suite', suite, '--reps', '1', '--db', db, '--data-file', join(tmp.dir, 'next.dat'), '--data-size', '4M'], env, said, started);
  const nextCode = new Promise<number | null>((res) => next.child.once('exit', res));
  const nextRow = await until('the next run recorded', () => storedRuns(db).find((x) => x.at >= next.from), 120_000);
  t.is(storedRuns(db).find((x) => x.id === aliveRow.id)!.status, 'running', 'the live run is not marked interrupted');
  // Its host probe's accounting cgroup where the machine has the hierarchy; runc's, under every one.
  if (cgRoot || !runcSkip) t.true(aliveCgroups.length > 0, 'the live run had cgroups to keep');
  for (const p of aliveCgroups) t.true(existsSync(p), `the live run's ${p} is not swept`);

  // Then the live one is killed too (which lets the next run measure); history, opening the store, finds it.
  killed.push(await killIt(alive, r() < 0.5, 'the live run, at last'));
  const code = await nextCode;
  await next.exited;
  t.is(code, 0, said.at(-1));
  t.is(storedRuns(db).find((x) => x.id === nextRow.id)!.status, 'complete', 'the next run completes');
  const history = spawnSync(process.execPath, [CLI, 'history', '--db', db], { encoding: 'utf8', timeout: 60_000, env });
  t.is(history.status, 0, history.stderr);
  said.push(history.stderr);
  nextRun();  // one more sweep, after the last kill

  const s = new Sqlite(db, { readonly: true, fileMustExist: true });
  t.is(s.pragma('integrity_check', { simple: true }), 'ok');
  s.close();
  const after = storedRuns(db);
  const runOf = (k: Killed) => after.find((x) => x.at >= k.from && x.at <= k.to);
  t.is(runOf(killed.at(-1)!)?.id, aliveRow.id, 'the live run, killed last, is told apart');
  for (const k of killed) {
    const row = runOf(k);
    if (row) checkInterrupted(t, k, row, history.stdout, said.join(''), db, killed);
    else t.log(`pid ${k.pid} (${k.how}) was killed before it recorded a run`);
    await checkNothingLeft(t, k);
  }
  // Nothing those runs started still runs: no process names the test's folder (data files, bundles).
  const running = readdirSync('/proc').filter((x) => /^\d+$/.test(x)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(tmp.dir);
    } catch {
      return false;
    }
  });
  t.deepEqual(running, [], 'no process of the killed runs still runs');
});
