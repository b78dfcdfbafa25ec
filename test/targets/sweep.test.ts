// What a killed isoprobe leaves, the next run sweeps: a SIGKILL'd microVM run leaves no VMM running
// (it dies with isoprobe) and its namespace and work folder are removed by the next run; a
// SIGKILL'd container run's container likewise; folders of dead makers go, live ones and names not
// of isoprobe's making stay. Driven through the CLI as a user would, checked with ip, runc and ls.
import test from 'ava';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { accountingHierarchy } from '../../lib/cost/cgroup';
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

async function until<T>(what: string, f: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
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
  for (const d of [dead, live]) mkdirSync(d);
  // A process still inside the dead maker's cgroup (a VMM that outlived its maker).
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  writeFileSync(join(dead, 'cgroup.procs'), String(sleeper.pid));
  try {
    const said = nextRun();
    t.false(existsSync(dead), "the dead maker's cgroup is gone");
    t.regex(said, new RegExp(`cgroups [^;]*${dead}`), 'the run says so');
    t.true(existsSync(live), "a running maker's cgroup stays");
    t.false(readFileSync(`/proc/${sleeper.pid}/cgroup`, 'utf8').includes(dead.slice(cgRoot!.length)), 'its process was moved out, not killed');
  } finally {
    sleeper.kill();
    for (const d of [dead, live]) if (existsSync(d)) rmdirSync(d);
  }
});
