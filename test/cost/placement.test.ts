// Where a scope's threads ran over a window (lib/cost/placement.ts), against placements the test
// makes itself with taskset: a busy loop pinned to one CPU, one the test moves to another CPU in
// the middle of the window, and a process that sleeps throughout (it ran nowhere).
import test from 'ava';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

import { PlacementWatch } from '../../lib/cost/placement';
import { parseCpuList, threadMigrations } from '../../lib/cost/proc';
import { vcpuIndex } from '../../lib/cost/roles';
import { monoNs } from '../../lib/cost/sample';
import { pinLayout, pinnedArgv } from '../../lib/targets/vm-pin';

const children: ChildProcess[] = [];
test.after.always(() => children.forEach((c) => c.kill('SIGKILL')));

function busy(cpus: string): ChildProcess {
  const c = spawn('taskset', ['--cpu-list', cpus, 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

const twoCpus = parseCpuList(/^Cpus_allowed_list:\s*(\S+)/m.exec(require('node:fs').readFileSync('/proc/self/status', 'utf8'))![1]!).length >= 2;
const migrationsCounted = threadMigrations(process.pid, process.pid) !== undefined;

test('CPU lists as the kernel writes them', (t) => {
  t.deepEqual(parseCpuList('0-3,6'), [0, 1, 2, 3, 6]);
  t.deepEqual(parseCpuList('1'), [1]);
  t.deepEqual(parseCpuList('0,2-3\n'), [0, 2, 3]);
});

test('each VMM\'s vCPU thread names give the vCPU index; other threads none', (t) => {
  t.is(vcpuIndex('qemu', 'CPU 1/TCG'), 1);
  t.is(vcpuIndex('qemu', 'CPU 12/KVM'), 12);
  t.is(vcpuIndex('qemu', 'IO iothread0'), undefined);
  t.is(vcpuIndex('firecracker', 'fc_vcpu 3'), 3);
  t.is(vcpuIndex('firecracker', 'fc_api'), undefined);
  t.is(vcpuIndex('cloud-hypervisor', 'vcpu0'), 0);
  t.is(vcpuIndex('cloud-hypervisor', '_disk0_q0'), undefined);
});

test('pin=on layout: vCPU i on the i-th CPU, the VMM after them; shared when none is left; refused with fewer CPUs than vCPUs', (t) => {
  t.deepEqual(pinLayout(1, [0, 1]), { vcpus: [0], vmm: [1], shared: false });
  t.deepEqual(pinLayout(2, [2, 3, 5, 7]), { vcpus: [2, 3], vmm: [5, 7], shared: false });
  t.deepEqual(pinLayout(2, [0, 1]), { vcpus: [0, 1], vmm: [0, 1], shared: true });
  const e = t.throws(() => pinLayout(4, [0, 1]));
  t.is(e!.message, 'pin=on: 4 vCPUs need 4 host CPUs to pin one each, and isoprobe may use 2 (0,1); expected vcpus=2 or fewer, or pin=off');
  t.deepEqual(pinnedArgv(pinLayout(1, [0, 1]), ['qemu', '-smp', '1']), ['taskset', '--cpu-list', '1', 'qemu', '-smp', '1']);
});

(twoCpus ? test.serial : test.skip)('a busy loop pinned to CPU 1 is seen on CPU 1 alone for about the whole window; a sleeping process is not listed; a loop moved mid-window is seen on both CPUs', async (t) => {
  const pinned = busy('1');
  const moved = busy('0');
  const asleep = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(asleep);
  await sleep(100);
  const scope = { processes: [pinned, moved, asleep].map((c) => ({ pid: c.pid!, role: 'container' as const })) };
  const t0 = monoNs();
  const w = new PlacementWatch(scope, 10).start();
  await sleep(300);
  t.is(spawnSync('taskset', ['--pid', '--cpu-list', '1', String(moved.pid)]).status, 0);
  await sleep(300);
  const p = w.stop();
  const windowNs = monoNs() - t0;
  t.true(p.samples >= 30, `samples ${p.samples} in ${windowNs / 1e6} ms at 10 ms`);
  t.is(p.threads.length, 2, `the two loops ran, the sleeper did not: ${JSON.stringify(p.threads)}`);
  t.false(p.threads.some((x) => x.name === 'sleep'));
  const pin = p.threads.find((x) => x.allowed.join() === '1' && x.cpus.join() === '1');
  t.truthy(pin, `the pinned loop ran on CPU 1 only: ${JSON.stringify(p.threads)}`);
  const mv = p.threads.find((x) => x !== pin)!;
  t.deepEqual(mv.cpus, [0, 1], 'the moved loop was seen on both');
  t.deepEqual(mv.allowed, [1]);
  // Two loops on two CPUs, one shared with the test and the other tests: each ran a good part of
  // the window, never more than all of it.
  for (const x of [pin!, mv]) {
    t.true(x.ran_ns <= windowNs * 1.02, `${x.ran_ns} <= window ${windowNs}`);
    t.true(x.ran_ns >= windowNs * 0.25, `${x.ran_ns} >= a quarter of ${windowNs}`);
  }
  if (migrationsCounted) {
    t.is(pin!.migrations, 0, 'the pinned loop never migrated');
    t.true((mv.migrations ?? 0) >= 1, `the moved loop migrated (${mv.migrations})`);
  }
});
