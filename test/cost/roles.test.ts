// Host-cost accounting without a target: each VMM's threads get their roles from recorded thread
// layouts through the names its target declares (lib/targets/<vmm>.ts), each container target's
// processes likewise, and the window arithmetic splits a cgroup's exact total from the threads
// sampled inside it.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { hostMemory } from '../../lib/cost/memory';
import { startupOf } from '../../lib/cost/meter';
import { hostCpu, type Sample } from '../../lib/cost/sample';
import { processRole, type Role, threadRole, vcpuIndex } from '../../lib/cost/roles';
import type { CostScope } from '../../lib/cost/scope';
import { REGISTRY, TARGET_NAMES, type TargetName } from '../../lib/targets';

// Thread names as each VMM gives them (QEMU 7.2 with -name debug-threads=on, read here from
// /proc/PID/task/*/comm of a running microvm guest: "qemu-system-x86" twice (the main loop and its
// RCU thread), "CPU 0/TCG", "CPU 1/TCG"; "IO <id>" and "worker" come with iothreads and
// aio=threads; Firecracker and Cloud Hypervisor as their sources name them:
// Firecracker's vmm thread is the process's own, "fc_api" and "fc_vcpu N"; Cloud Hypervisor's
// "vmm", "vcpuN", "http-server", "_disk0_q0", "_net1_qp0", "signal_handler").
const LAYOUTS: Partial<Record<TargetName, [string, boolean, Role][]>> = {
  'qemu-microvm': [['qemu-system-x86', true, 'vmm-main'], ['qemu-system-x86', false, 'vmm-other'], ['CPU 0/TCG', false, 'vcpu'], ['CPU 1/KVM', false, 'vcpu'],
    ['IO iothread0', false, 'iothread'], ['worker', false, 'io-pool'], ['vhost-4242', false, 'vhost']],
  firecracker: [['firecracker', true, 'vmm-main'], ['fc_api', false, 'vmm-api'], ['fc_vcpu 0', false, 'vcpu'], ['fc_vcpu 1', false, 'vcpu']],
  'cloud-hypervisor': [['cloud-hyperviso', true, 'vmm-other'], ['vmm', false, 'vmm-main'], ['vcpu0', false, 'vcpu'], ['vcpu1', false, 'vcpu'], ['http-server', false, 'vmm-api'],
    ['_disk0_q0', false, 'iothread'], ['_net1_qp0', false, 'iothread'], ['signal_handler', false, 'vmm-other'], ['vhost-77', false, 'vhost']],
};

// qemu-virt is the same QEMU with the same debug-threads names; its process is qemu-system-aarch64 (comm: 15 characters).
LAYOUTS['qemu-virt'] = LAYOUTS['qemu-microvm']!.map(([comm, main, role]) => [comm.replace('qemu-system-x86', 'qemu-system-aar'), main, role]);
const QEMU = REGISTRY['qemu-microvm'].roles.threads!;

test('every VMM target declares its thread names, and a recorded layout of each', (t) => {
  const vms = TARGET_NAMES.filter((n) => REGISTRY[n].kind === 'vm');
  for (const n of vms) t.truthy(REGISTRY[n].roles.threads, `${n} declares its threads' names`);
  t.deepEqual(Object.keys(LAYOUTS).sort(), [...vms].sort());
});

for (const [vmm, threads] of Object.entries(LAYOUTS) as [TargetName, [string, boolean, Role][]][]) {
  test(`${vmm}: every thread of its recorded layout gets its role from the target's declared names`, (t) => {
    const names = REGISTRY[vmm].roles.threads!;
    for (const [comm, main, role] of threads) t.is(threadRole(names, comm, main), role, `${vmm} thread "${comm}"`);
    const vcpus = threads.filter(([, , r]) => r === 'vcpu').map(([comm]) => vcpuIndex(names, comm));
    t.deepEqual(vcpus, vcpus.map((_, i) => i), `${vmm}: each vCPU thread's index from its name`);
    for (const [comm, , role] of threads) if (role !== 'vcpu') t.is(vcpuIndex(names, comm), undefined, `${vmm} "${comm}" is no vCPU`);
  });
}

test("container processes get roles from their target's names: gVisor by argv[0], shims by name, the rest none of their own", (t) => {
  const names = (n: TargetName) => REGISTRY[n].roles.processes!;
  for (const n of ['runc', 'runsc', 'crun', 'docker', 'podman', 'containerd', 'kata'] as const) {
    t.truthy(REGISTRY[n].roles.processes, `${n} declares its processes' names`);
    t.is(processRole(names(n), 'exe', '/proc/self/exe'), undefined, n);
    t.is(processRole(names(n), 'isoprobe-probe', '/isoprobe-probe'), undefined, n);
  }
  for (const n of ['runsc', 'docker', 'podman', 'containerd'] as const) {
    t.is(processRole(names(n), 'exe', 'runsc-sandbox'), 'sentry', `${n} (runsc as its runtime)`);
    t.is(processRole(names(n), 'exe', '/usr/bin/runsc-gofer'), 'gofer', n);
  }
  t.is(processRole(names('runc'), 'exe', 'runsc-sandbox'), undefined, 'runc runs no Sentry');
  for (const n of ['docker', 'containerd', 'kata'] as const) t.is(processRole(names(n), 'containerd-shim', '/usr/bin/containerd-shim-runc-v2'), 'shim', n);
  t.is(processRole(names('podman'), 'conmon', '/usr/bin/conmon'), 'shim');
  t.is(processRole(names('docker'), 'conmon', '/usr/bin/conmon'), undefined, 'Docker has no conmon');
});

test('the mechanism names no target: lib/cost/roles.ts mentions none of them (each target passes its names down)', (t) => {
  const src = readFileSync(join(__dirname, '..', '..', '..', 'lib', 'cost', 'roles.ts'), 'utf8');
  for (const n of [...TARGET_NAMES.filter((x) => x !== 'host'), 'qemu', 'containerd-shim', 'conmon'])
    t.notRegex(src, new RegExp(`\\b${n}\\b`, 'i'), n);
});

function sampleOf(atNs: number, cg: number | undefined, threads: [number, Role, number, boolean][], busyTicks: number): Sample {
  return {
    atNs, spanNs: 1e5,
    cgroup: cg === undefined ? undefined : { ns: cg, userNs: cg * 0.75, sysNs: cg * 0.25, splitResolutionNs: 1e7 },
    threads: new Map(threads.map(([tid, role, ns, inCgroup]) => [tid, { role, ns, userTicks: ns / 2e7, sysTicks: ns / 2e7, inCgroup, cpu: 0 }])),
    machine: { cpus: 2, busyTicks, softirqTicks: 0, totalTicks: busyTicks * 2 },
  };
}

test('a window: threads by their deltas, a born thread whole, the cgroup remainder to its role, the rest of the machine unattributed', (t) => {
  const scope: CostScope = { processes: [{ pid: 1, role: 'sentry' }, { pid: 2, role: 'shim' }], cgroup: { path: '/x', role: 'container' } };
  // Over 2 s: the cgroup grew 1.5 s, of which a sampled Sentry thread 0.4 s and one born in the
  // window 0.1 s; a shim outside the cgroup 0.05 s; the machine was busy 1.8 s.
  const a = sampleOf(0, 10e9, [[11, 'sentry', 5e9, true], [21, 'shim', 1e9, false]], 1000);
  const b = sampleOf(2e9, 11.5e9, [[11, 'sentry', 5.4e9, true], [12, 'sentry', 0.1e9, true], [21, 'shim', 1.05e9, false]], 1180);
  const c = hostCpu(a, b, scope);
  t.is(c.window_ns, 2e9);
  t.is(c.by_role.sentry, 0.5e9);
  t.is(c.by_role.container, 1e9, "the cgroup's total less its sampled threads");
  t.is(Math.round(c.by_role.shim!), 0.05e9);
  t.is(Math.round(c.total_ns), 1.55e9);
  t.is(Math.round(c.user_ns + c.system_ns), Math.round(c.total_ns), 'the split adds up to the total');
  t.is(c.machine.busy_ns, 1.8e9);
  t.is(Math.round(c.machine.unattributed_ns), 0.25e9);
  t.true(c.sampling_error_ns > 0 && c.sampling_error_ns < 1e6, `error bound ${c.sampling_error_ns} ns from 0.2 ms of readings`);
});

test('marks on a guest\'s clock: the edges\' error bound holds the host\'s window against the guest\'s own', (t) => {
  const scope: CostScope = { processes: [{ pid: 1, threads: QEMU }] };
  // One busy vCPU; the host read the end mark 30 ms later than the start one, relative to the guest.
  const a = { ...sampleOf(0, undefined, [[5, 'vcpu', 1e9, false]], 0), probeNs: 7e9 };
  const b = { ...sampleOf(2.03e9, undefined, [[5, 'vcpu', 3.03e9, false]], 203), probeNs: 9e9 };
  const c = hostCpu(a, b, scope);
  t.true(c.sampling_error_ns >= 30e6 && c.sampling_error_ns < 31e6, `error bound ${c.sampling_error_ns} ns: 30 ms of skew + 0.2 ms of readings`);
  const same = hostCpu({ ...a, probeNs: undefined }, { ...b, probeNs: undefined }, scope);
  t.true(same.sampling_error_ns < 1e6, 'without the guest\'s times, only the readings');
});

test('start-up without a cgroup counts the scope\'s own processes: a VMM that burned CPU is not "0 ns"', async (t) => {
  // A stand-in VMM that burns 400 ms of its own CPU time (however long that takes on a busy
  // machine), reports what getrusage says it used, then waits to be read.
  const child = spawn(process.execPath, ['-e', `const used = () => { const u = process.cpuUsage(); return (u.user + u.system) * 1000; };
    while (used() < 400e6) {}
    process.stdout.write(String(used())); setTimeout(() => {}, 60000);`], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const ref = Number(await new Promise<string>((r) => child.stdout.once('data', (d: Buffer) => r(d.toString()))));
    const s = startupOf({ processes: [{ pid: child.pid!, threads: QEMU }] }, 0, 1e6, 'test');
    // /proc/PID/stat's ticks (10 ms) against the child's own count, plus a little for printing it.
    t.true(s.host_cpu_ns! >= ref - 20e6 && s.host_cpu_ns! <= ref + 50e6, `host CPU ${s.host_cpu_ns! / 1e6} ms; the stand-in counted ${ref / 1e6} ms itself`);
  } finally {
    child.kill();
  }
});

test('memory of a scope whose processes have all exited is unknown, not 0 bytes', async (t) => {
  const child = spawn('sleep', ['30']);
  await new Promise((r) => child.once('spawn', r));
  const scope: CostScope = { processes: [{ pid: child.pid!, role: 'probe' }] };
  const alive = hostMemory(scope);
  t.true((alive?.rss_bytes ?? 0) > 0, `a live process: ${alive?.rss_bytes} bytes resident`);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  await new Promise((r) => setTimeout(r, 50));
  t.is(hostMemory(scope), undefined);
});
