// Where a scope's threads ran over a window (lib/cost/placement.ts), against placements the test
// makes itself with taskset: a busy loop pinned to one CPU, one the test moves to another CPU in
// the middle of the window, and a process that sleeps throughout (it ran nowhere). The sampling
// rate is checked in the timing phase (test/timing/targets.test.ts).
import test from 'ava';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import { PlacementWatch } from '../../lib/cost/placement';
import { parseCpuList, threadAllowedCpus, threadMigrations } from '../../lib/cost/proc';
import { vcpuIndex } from '../../lib/cost/roles';
import { REGISTRY } from '../../lib/targets';
import { pinLayout, pinnedArgv } from '../../lib/targets/vm-pin';
import { testIf, why } from '../helpers';

const children: ChildProcess[] = [];
test.after.always(() => children.forEach((c) => c.kill('SIGKILL')));

function busy(cpus: string): ChildProcess {
  const c = spawn('taskset', ['--cpu-list', cpus, 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

// The CPUs this process may use, as the product reads them (Cpus_allowed_list): not the machine's count.
const allowed = threadAllowedCpus(process.pid, process.pid) ?? [];
const twoSkip = allowed.length >= 2 ? undefined : `needs two CPUs to move a loop between, and this process may use ${allowed.join(',')}`;
const migrationsCounted = threadMigrations(process.pid, process.pid) !== undefined;

/** A process's CPU time in ns from its own /proc/PID/stat (utime + stime, in USER_HZ ticks), read here, not by isoprobe. */
function statCpuNs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 1e7;
}

/** Waits until a process has had `ns` more CPU time than `from` (hang guard: 60 s). */
async function ranFor(pid: number, from: number, ns: number): Promise<void> {
  for (const t0 = Date.now(); statCpuNs(pid) - from < ns; await sleep(10)) if (Date.now() - t0 > 60_000) throw new Error(`process ${pid} did not get ${ns / 1e6} ms of CPU in 60 s`);
}

test('CPU lists as the kernel writes them', (t) => {
  t.deepEqual(parseCpuList('0-3,6'), [0, 1, 2, 3, 6]);
  t.deepEqual(parseCpuList('1'), [1]);
  t.deepEqual(parseCpuList('0,2-3\n'), [0, 2, 3]);
});

test('each VMM\'s vCPU thread names give the vCPU index; other threads none', (t) => {
  const [qemu, firecracker, ch] = (['qemu-microvm', 'firecracker', 'cloud-hypervisor'] as const).map((n) => REGISTRY[n].roles.threads!);
  t.is(vcpuIndex(qemu!, 'CPU 1/TCG'), 1);
  t.is(vcpuIndex(qemu!, 'CPU 12/KVM'), 12);
  t.is(vcpuIndex(qemu!, 'IO iothread0'), undefined);
  t.is(vcpuIndex(firecracker!, 'fc_vcpu 3'), 3);
  t.is(vcpuIndex(firecracker!, 'fc_api'), undefined);
  t.is(vcpuIndex(ch!, 'vcpu0'), 0);
  t.is(vcpuIndex(ch!, '_disk0_q0'), undefined);
});

test('pin=on layout: vCPU i on the i-th CPU, the VMM after them; shared when none is left; refused with fewer CPUs than vCPUs', (t) => {
  t.deepEqual(pinLayout(1, [0, 1]), { vcpus: [0], vmm: [1], shared: false });
  t.deepEqual(pinLayout(2, [2, 3, 5, 7]), { vcpus: [2, 3], vmm: [5, 7], shared: false });
  t.deepEqual(pinLayout(2, [0, 1]), { vcpus: [0, 1], vmm: [0, 1], shared: true });
  const e = t.throws(() => pinLayout(4, [0, 1]));
  t.is(e!.message, 'pin=on: 4 vCPUs need 4 host CPUs to pin one each, and isoprobe may use 2 (0,1); expected vcpus=2 or fewer, or pin=off');
  t.deepEqual(pinnedArgv(pinLayout(1, [0, 1]), ['qemu', '-smp', '1']), ['taskset', '--cpu-list', '1', 'qemu', '-smp', '1']);
});

// No fixed sleeps or shares: each phase lasts until the loop has really run in it, as its own
// /proc/PID/stat says, and what the watch reports is held against that reference.
testIf(twoSkip, test.serial)(`a busy loop pinned to one CPU is seen on it alone for its CPU time; a sleeping process is not listed; a loop moved mid-window is seen on both CPUs${why(twoSkip)}`, async (t) => {
  const [a, b] = [allowed[0]!, allowed[1]!];
  const pinned = busy(String(b));
  const moved = busy(String(a));
  const asleep = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(asleep);
  // Both have run a while before the window: what they ran before it is not the window's.
  await Promise.all([ranFor(pinned.pid!, 0, 50e6), ranFor(moved.pid!, 0, 50e6)]);
  const scope = { processes: [pinned, moved, asleep].map((c) => ({ pid: c.pid!, role: 'container' as const })) };
  const outer0 = [pinned, moved].map((c) => statCpuNs(c.pid!));
  const w = new PlacementWatch(scope, 10).start();
  const inner0 = [pinned, moved].map((c) => statCpuNs(c.pid!));
  await ranFor(moved.pid!, inner0[1]!, 30e6);
  t.is(spawnSync('taskset', ['--pid', '--cpu-list', String(b), String(moved.pid)]).status, 0);
  const afterMove = statCpuNs(moved.pid!);
  await Promise.all([ranFor(moved.pid!, afterMove, 30e6), ranFor(pinned.pid!, inner0[0]!, 60e6)]);
  const inner1 = [pinned, moved].map((c) => statCpuNs(c.pid!));
  const p = w.stop();
  const outer1 = [pinned, moved].map((c) => statCpuNs(c.pid!));
  t.true(p.samples >= 3, `samples ${p.samples}: the start, at least one between, the stop`);
  t.is(p.threads.length, 2, `the two loops ran, the sleeper did not: ${JSON.stringify(p.threads)}`);
  t.false(p.threads.some((x) => x.name === 'sleep'));
  const pin = p.threads.find((x) => x.allowed.join() === String(b) && x.cpus.join() === String(b));
  t.truthy(pin, `the pinned loop ran on CPU ${b} only: ${JSON.stringify(p.threads)}`);
  const mv = p.threads.find((x) => x !== pin)!;
  t.deepEqual(mv.cpus, [a, b].sort((x, y) => x - y), 'the moved loop was seen on both');
  t.deepEqual(mv.allowed, [b]);
  // Each loop's time in the window is its own CPU time over the same span, within the ticks of
  // /proc/PID/stat (read just inside and just outside the watch's start and stop).
  for (const [i, x] of [pin!, mv].entries()) {
    const lo = inner1[i]! - inner0[i]! - 2e7;
    const hi = outer1[i]! - outer0[i]! + 2e7;
    t.true(x.ran_ns >= lo && x.ran_ns <= hi, `${x.name}: ${x.ran_ns / 1e6} ms in the window; its /proc/PID/stat says ${lo / 1e6}..${hi / 1e6} ms`);
  }
  if (migrationsCounted) {
    t.is(pin!.migrations, 0, 'the pinned loop never migrated');
    t.true((mv.migrations ?? 0) >= 1, `the moved loop migrated (${mv.migrations})`);
  }
});
