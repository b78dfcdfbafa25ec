// --shield: the product's rule on made-up /sys/fs/cgroup and /proc trees (which hierarchy, or the
// sentence that refuses), what a raise moves and records there, the sweep after a SIGKILL; and once
// on this machine's real cpuset, with everything checked back where it was after.
import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { OWNER } from '../../lib/owner';
import { cpuList, planShield, raiseShield, REAL_ROOTS, type ShieldRoots, shieldText, sweepShields } from '../../lib/system/shield';
import { tempDir, testIf, why } from '../helpers';
import { allowedCpus } from '../machine';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
let serial = 0;

/** A made-up machine: files given by path under a fresh root. */
function tree(files: Record<string, string>): ShieldRoots {
  const root = join(tmp.dir, `m${serial++}`);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(root, p, '..'), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  for (const d of ['cgroup', 'proc', 'state']) mkdirSync(join(root, d), { recursive: true });
  return { cgroup: join(root, 'cgroup'), proc: join(root, 'proc'), state: join(root, 'state') };
}

const V1 = { 'cgroup/cpuset/cpuset.cpus': '0-3\n', 'cgroup/cpuset/cpuset.mems': '0\n', 'cgroup/cpuset/tasks': '' };
const V2 = { 'cgroup/cgroup.controllers': 'cpuset cpu io memory pids\n', 'cgroup/cgroup.subtree_control': 'cpuset cpu\n', 'cgroup/system.slice/cpuset.cpus.partition': 'member\n' };

test('the rule: v1 cpuset where mounted (also beside v2), else a v2 partition, else the sentence', (t) => {
  const plan = (files: Record<string, string>, cpus = [0], allowed = [0, 1, 2, 3]) => planShield(cpus, allowed, tree(files));
  t.like(plan(V1), { hierarchy: 'cgroup v1 cpuset', cpus: [0], rest: [1, 2, 3] });
  t.like(plan({ ...V1, ...V2 }), { hierarchy: 'cgroup v1 cpuset' });
  t.like(plan(V2, [2, 3]), { hierarchy: 'cgroup v2 cpuset partition', rest: [0, 1] });
  // cpuset not yet enabled below the root: its children show no partition file yet; enabling it is the shield's first step.
  t.like(plan({ 'cgroup/cgroup.controllers': 'cpuset cpu\n', 'cgroup/cgroup.subtree_control': 'cpu\n' }), { hierarchy: 'cgroup v2 cpuset partition' });
  const refused = (files: Record<string, string>, cpus = [0], allowed = [0, 1, 2, 3]) => (plan(files, cpus, allowed) as { refused?: string }).refused;
  t.regex(refused({ 'cgroup/cgroup.controllers': 'cpuset\n', 'cgroup/cgroup.subtree_control': 'cpuset\n', 'cgroup/a/cpu.max': '' }) ?? '', /has no cpuset\.cpus\.partition \(Linux 5\.11 and later\)/);
  t.regex(refused({ 'cgroup/cgroup.controllers': 'cpu io memory\n' }) ?? '', /cgroup v2 at .* has no cpuset controller \(cgroup\.controllers: cpu io memory\)/);
  t.regex(refused({}) ?? '', /^--shield: no cpuset cgroup here \(neither cgroup v1's cpuset hierarchy at .*\/cpuset nor cgroup v2 at /);
  t.is(refused(V1, [0], [0]), '--shield: this process may use only CPU 0; a shield needs one CPU to measure on and another for everything else');
  t.is(refused(V1, [0, 1], [0, 1]), '--shield 0,1: that is every CPU this process may use; leave at least one for everything else');
  t.is(refused(V1, [5], [0, 1]), '--shield 5: CPU 5 is not among the CPUs this process may use (0,1)');
  t.deepEqual(cpuList('0-2,5'), [0, 1, 2, 5]);
});

/** A made-up /proc task: its status, stat (flags field) and comm. */
function task(tid: number, o: { allowed: string; kthread?: boolean; ppid?: number; comm?: string }): Record<string, string> {
  const flags = o.kthread ? 0x00208040 : 0x00400100;
  return {
    [`proc/${tid}/status`]: `Name:\t${o.comm ?? 'x'}\nTgid:\t${tid}\nCpus_allowed_list:\t${o.allowed}\n`,
    [`proc/${tid}/stat`]: `${tid} (${o.comm ?? 'x'}) S ${o.ppid ?? 1} ${tid} ${tid} 0 -1 ${flags} 0 0`,
    [`proc/${tid}/comm`]: `${o.comm ?? 'x'}\n`,
  };
}

test('a raise on a made-up v1 tree: what it moves, what it leaves and why, and the restore', (t) => {
  const child = 4_000_001;  // a process of this one's (the measurement's own): never moved
  const roots = tree({
    ...V1, 'cgroup/cpuset/tasks': `101\n102\n103\n${child}\n`, 'cgroup/cpuset/docker/tasks': '201\n202\n',
    ...task(101, { allowed: '0-3', comm: 'sshd' }), ...task(102, { allowed: '0', kthread: true, comm: 'ksoftirqd/0' }), ...task(103, { allowed: '0-1', comm: 'pinned' }),
    ...task(process.pid, { allowed: '0-3' }), ...task(child, { allowed: '0-3', ppid: process.pid }),
    'proc/irq/24/smp_affinity_list': '0-3\n', 'proc/irq/25/smp_affinity_list': '2\n', 'proc/irq/26/smp_affinity_list': '0\n',
  });
  mkdirSync(join(roots.proc, 'irq', '27', 'smp_affinity_list'), { recursive: true });  // a write that fails, as a managed IRQ's does
  writeFileSync(join(roots.proc, 'irq', '27', 'x'), '');
  const before27 = readdirSync(join(roots.proc, 'irq', '27'));
  mkdirSync(join(roots.proc, 'irq', '28'));
  writeFileSync(join(roots.proc, 'irq', '28', 'smp_affinity_list'), '0,1\n');
  const plan = planShield([0], [0, 1, 2, 3], roots);
  const s = raiseShield(plan, roots);
  t.is(s.record.moved, 2, shieldText(s.record));
  t.deepEqual(s.record.notMoved.map((x) => `${x.comm}: ${x.why}`), ['ksoftirqd/0: a kernel thread bound to a shielded CPU', 'docker: 2 tasks in cpuset docker, not isoprobe\'s']);
  t.deepEqual(s.record.irqsMoved.sort(), [24, 26, 28]);
  t.is(s.record.irqsNotMoved.length, 0, 'IRQ 27 reads as no list (a directory): never touched');
  const shieldDir = join(roots.cgroup, 'cpuset', `isoprobe-${OWNER}-shield`);
  t.is(readFileSync(join(shieldDir, 'cpuset.cpus'), 'utf8'), '0');
  t.is(readFileSync(join(roots.cgroup, 'cpuset', `isoprobe-${OWNER}-rest`, 'cpuset.cpus'), 'utf8'), '1,2,3');
  t.is(readFileSync(join(roots.proc, 'irq', '24', 'smp_affinity_list'), 'utf8'), '1,2,3');
  t.is(readFileSync(join(roots.proc, 'irq', '25', 'smp_affinity_list'), 'utf8'), '2\n', 'an IRQ off the shielded CPU is left alone');
  t.is(readFileSync(join(roots.proc, 'irq', '26', 'smp_affinity_list'), 'utf8'), '1,2,3');
  t.is(readFileSync(join(roots.proc, 'irq', '28', 'smp_affinity_list'), 'utf8'), '1', 'what it kept of its own CPUs');
  const state = JSON.parse(readFileSync(join(roots.state, `isoprobe-shield-${OWNER}-state.json`), 'utf8')) as { affinities: Record<string, string> };
  t.deepEqual(state.affinities, { 103: '0,1' }, 'the narrower affinity a move to a cpuset resets is kept, to be put back');
  t.regex(shieldText(s.record), /^shield: CPUs 0 \(cgroup v1 cpuset, exclusive\), 2 tasks moved to 1,2,3, 3 IRQs moved; not moved: 1 a kernel thread bound to a shielded CPU; 2 tasks in cpuset docker/);
  t.deepEqual(s.restore(), []);
  t.is(readFileSync(join(roots.proc, '103', 'affinity_set'), 'utf8'), '0,1', 'its own affinity set again');
  t.is(readFileSync(join(roots.proc, 'irq', '24', 'smp_affinity_list'), 'utf8'), '0-3');
  t.is(readFileSync(join(roots.proc, 'irq', '28', 'smp_affinity_list'), 'utf8'), '0,1');
  t.false(existsSync(shieldDir));
  t.deepEqual(readdirSync(join(roots.proc, 'irq', '27')), before27);
  t.deepEqual(readdirSync(roots.state), [], 'the state file goes once everything is back');
});

test('a shield of a process that is gone is put back by the sweep, from its state file; a live one is not touched', (t) => {
  const roots = tree({ ...V1, 'proc/irq/30/smp_affinity_list': '1\n', 'proc/irq/31/smp_affinity_list': '1\n' });
  const dead = 4_000_000;  // above pid_max's default and this machine's: no such process
  const state = (mark: string, irq: number) => writeFileSync(join(roots.state, `isoprobe-shield-${mark}-state.json`), JSON.stringify({
    hierarchy: 'cgroup v1 cpuset', dir: join(roots.cgroup, 'cpuset'), proc: roots.proc, shield: join(roots.cgroup, 'cpuset', `isoprobe-${mark}-shield`),
    rest: join(roots.cgroup, 'cpuset', `isoprobe-${mark}-rest`), irqs: { [irq]: '0-1' }, affinities: {},
  }));
  state(dead.toString(36), 30);
  state(OWNER, 31);
  mkdirSync(join(roots.cgroup, 'cpuset', `isoprobe-${dead.toString(36)}-rest`));
  const swept = sweepShields(roots);
  t.deepEqual(swept, [join(roots.cgroup, 'cpuset', `isoprobe-${dead.toString(36)}-shield`)]);
  t.is(readFileSync(join(roots.proc, 'irq', '30', 'smp_affinity_list'), 'utf8'), '0-1');
  t.is(readFileSync(join(roots.proc, 'irq', '31', 'smp_affinity_list'), 'utf8'), '1\n', "a live run's shield stays up");
  t.false(existsSync(join(roots.cgroup, 'cpuset', `isoprobe-${dead.toString(36)}-rest`)));
  t.deepEqual(readdirSync(roots.state), [`isoprobe-shield-${OWNER}-state.json`]);
});

// ---- once for real -------------------------------------------------------------------------------

const allowed = allowedCpus();
const realPlan = process.getuid?.() === 0 ? planShield(allowed.slice(0, 1), allowed, REAL_ROOTS) : { refused: 'needs root' };
const realSkip = 'refused' in realPlan ? realPlan.refused : realPlan.hierarchy !== 'cgroup v1 cpuset' ? `the real check is written for cgroup v1's cpuset (here: ${realPlan.hierarchy})` : undefined;

const status = (pid: number, f: string) => new RegExp(`^${f}:\\s*(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim();
const cpusetOf = (pid: number) => readFileSync(`/proc/${pid}/cpuset`, 'utf8').trim();
const irqs = () => Object.fromEntries(readdirSync('/proc/irq').filter((x) => /^\d+$/.test(x)).map((n) => [n, readFileSync(`/proc/irq/${n}/smp_affinity_list`, 'utf8').trim()]));

/** A sleeper that is not this process's descendant (its shell parent exits): as any other task on the machine. */
function stranger(cpus?: string): number {
  const cmd = cpus ? `taskset -c ${cpus} sleep 60` : 'sleep 60';
  const pid = Number(execFileSync('sh', ['-c', `${cmd} >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' }).trim());
  // taskset sets the affinity and then execs sleep: read nothing of it before it has (the fresh
  // machine's run once recorded "0-1" for a task about to be pinned to 0).
  const until = Date.now() + 5000;
  while (cpus && Date.now() < until && cpuList(status(pid, 'Cpus_allowed_list') ?? '').join(',') !== cpuList(cpus).join(',')) execFileSync('sleep', ['0.01']);
  return pid;
}

testIf(realSkip, test.serial)(`for real: other tasks and IRQs leave the shielded CPU and come back, narrow affinities too${why(realSkip)}`, (t) => {
  const cpu = allowed[0]!;
  const rest = allowed.slice(1).join(',');
  const free = stranger();
  const narrow = stranger(rest);
  const pinned = stranger(String(cpu));
  const irqBefore = irqs();
  const cpusetBefore = [free, narrow, pinned].map(cpusetOf);
  const allowedBefore = [free, narrow, pinned].map((p) => status(p, 'Cpus_allowed_list'));
  try {
    const s = raiseShield(realPlan, REAL_ROOTS);
    try {
      t.log(shieldText(s.record));
      t.is(cpusetOf(free), `/isoprobe-${OWNER}-rest`);
      t.deepEqual(cpuList(status(free, 'Cpus_allowed_list')!), allowed.slice(1));
      t.is(cpusetOf(pinned), cpusetBefore[2], 'a task pinned to the shielded CPU by its owner stays');
      t.true(s.record.notMoved.some((x) => x.tid === pinned && /pinned/.test(x.why)));
      t.is(cpusetOf(process.pid), cpusetBefore[0], 'the measurement itself stays');
      for (const [n, was] of Object.entries(irqs())) {
        const moved = s.record.irqsMoved.includes(Number(n));
        if (moved) t.false(cpuList(was).includes(cpu), `IRQ ${n} moved yet on ${was}`);
        else if (cpuList(irqBefore[n]!).includes(cpu)) t.true(s.record.irqsNotMoved.some((x) => x.irq === Number(n)), `IRQ ${n} neither moved nor recorded`);
      }
    } finally {
      t.deepEqual(s.restore(), []);
    }
    t.deepEqual([free, narrow, pinned].map(cpusetOf), cpusetBefore);
    t.deepEqual([free, narrow, pinned].map((p) => status(p, 'Cpus_allowed_list')), allowedBefore);
    t.deepEqual(irqs(), irqBefore);
    t.false(readdirSync(REAL_ROOTS.cgroup + '/cpuset').some((n) => n.startsWith(`isoprobe-${OWNER}-`)));
  } finally {
    for (const p of [free, narrow, pinned]) spawnSync('kill', [String(p)]);
  }
});

testIf(realSkip, test.serial)(`for real: a SIGKILLed run's shield is put back by the next run's sweep${why(realSkip)}`, async (t) => {
  const free = stranger();
  const irqBefore = irqs();
  const cpusetBefore = cpusetOf(free);
  const ownBefore = cpusetOf(process.pid);
  try {
    const lib = join(__dirname, '..', '..', 'lib', 'system', 'shield.js');
    const child = spawn(process.execPath, ['-e', `const s = require(${JSON.stringify(lib)}); const p = s.planShield([${allowed[0]}], ${JSON.stringify(allowed)}); s.raiseShield(p); console.log('up'); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('up') && res());
      child.on('exit', (c) => rej(new Error(`the child ended (${c}) before raising its shield`)));
    });
    t.is(cpusetOf(free), `/isoprobe-${child.pid!.toString(36)}-rest`);
    child.kill('SIGKILL');
    await new Promise((res) => child.once('exit', res));
    const swept = sweepShields();
    t.deepEqual(swept, [`${REAL_ROOTS.cgroup}/cpuset/isoprobe-${child.pid!.toString(36)}-shield`]);
    t.is(cpusetOf(free), cpusetBefore);
    t.is(cpusetOf(process.pid), ownBefore, 'this test, moved by its child, is back too');
    t.deepEqual(irqs(), irqBefore);
  } finally {
    spawnSync('kill', [String(free)]);
  }
});

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  testIf(realSkip, test.serial)(`for real: isoprobe run --shield auto stopped by ${sig} puts everything back itself${why(realSkip)}`, async (t) => {
    const free = stranger();
    const irqBefore = irqs();
    const cpusetBefore = cpusetOf(free);
    try {
      const cli = join(__dirname, '..', '..', '..', 'bin', 'isoprobe.js');
      const run = spawn(process.execPath, [cli, 'run', '--shield', 'auto', 'block', '--engine', 'null', '--size', '8M', '--duration', '60s'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      await new Promise<void>((res, rej) => {
        run.stderr.on('data', (d: Buffer) => (err += d.toString()).includes('shield: CPUs') && res());
        run.on('exit', (c) => rej(new Error(`isoprobe run ended (${c}) before its shield was up: ${err}`)));
      });
      t.is(cpusetOf(free), `/isoprobe-${run.pid!.toString(36)}-rest`);
      const ended = new Promise<number | null>((res) => run.once('exit', res));
      run.kill(sig);
      t.not(await ended, 0, 'an interrupted run does not exit 0');
      t.is(cpusetOf(free), cpusetBefore);
      t.deepEqual(irqs(), irqBefore);
      t.false(readdirSync(REAL_ROOTS.state).some((n) => n.startsWith(`isoprobe-shield-${run.pid!.toString(36)}-`)), 'its state file is gone');
    } finally {
      spawnSync('kill', [String(free)]);
    }
  });
}
