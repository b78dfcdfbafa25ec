// Host cost against references isoprobe does not compute: a CPU load the test sets (the null
// engine keeps one thread busy for exactly the window), the VMM's own /proc times read by the test
// while it runs, the guest memory the test configures, and an open loop at a rate the test picks.
// In the timing phase (one file at a time), so no other test takes the CPUs these figures count.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';

import { suiteGate } from '../../lib/compare/gate';
import type { Side } from '../../lib/compare/ab';
import { makeTarget, type TargetName } from '../../lib/targets';
import { releaseDaemons } from '../../lib/targets/daemons';
import type { SessionSpec, TargetResult, Workload } from '../../lib/targets/types';
import { isRoot, targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(async () => {
  await releaseDaemons();
  tmp.cleanup();
});

const D = 2e9;
const BUSY: Workload = { kind: 'block', options: { engine: 'null', size: '8M', duration: '2s', warmup: '300ms' } };
const skips = targetSkips(['runc', 'runsc', 'qemu-microvm']);
const rootSkip = isRoot ? undefined : 'needs root (cgroups, namespaces)';

async function run(target: TargetName, ws: Workload[], spec: SessionSpec = {}): Promise<TargetResult[]> {
  const s = await makeTarget(target).start({ dataFile: `${tmp.dir}/data`, dataSize: 16 << 20, network: ws.some((w) => w.kind !== 'block'), ...spec });
  try {
    const rs = await s.runSuite(ws);
    return rs.map((r) => {
      if (r instanceof Error) throw r;
      return r;
    });
  } finally {
    await s.stop();
  }
}

const within = (v: number, lo: number, hi: number) => v >= lo && v <= hi;

/**
 * The CPU a busy thread really had over its window: the window less the time it waited, runnable,
 * for the CPU (its own schedstat, as the probe records it). The whole window on an idle machine;
 * less beside other load, which a reference fixed at the window would count as isoprobe's error.
 */
function busyCpu(r: TargetResult): number {
  const delay = (r.cpu as { run_delay_ns?: number | null }).run_delay_ns;
  return r.elapsed_ns - (typeof delay === 'number' ? delay : 0);
}
const ms = (ns: number | undefined) => `${((ns ?? NaN) / 1e6).toFixed(1)} ms`;

testIf(rootSkip, test.serial)('host: a busy thread for the window is the window in host CPU, and the overhead factor is 1' + why(rootSkip), async (t) => {
  const [r] = await run('host', [BUSY]);
  const c = r!.host_cpu!;
  const had = busyCpu(r!);
  t.log(`window ${ms(c.window_ns)}, host ${ms(c.total_ns)}, probe ${ms(r!.cpu.window_ns)}, the loop's CPU (window less its run delay) ${ms(had)}, error bound ${ms(c.sampling_error_ns)}`);
  t.true(within(c.total_ns, 0.95 * had, 1.05 * had), `host CPU ${ms(c.total_ns)} for a 2 s busy loop that had ${ms(had)} of CPU`);
  t.deepEqual(Object.keys(c.by_role), ['probe']);
  const factor = c.total_ns / r!.cpu.window_ns!;
  t.true(within(factor, 0.95, 1.1), `overhead factor ${factor.toFixed(3)}`);
  t.true(c.sampling_error_ns < 0.01 * c.window_ns, `sampling error ${ms(c.sampling_error_ns)} under 1 % of the window`);
});

testIf(rootSkip, test.serial)('host: an open loop at 100 req/s costs a fraction of a core; the closed loop many times more' + why(rootSkip), async (t) => {
  const [open, closed] = await run('host', [
    { kind: 'rr', options: { rate: 100, duration: '2s', warmup: '300ms' } },
    { kind: 'rr', options: { duration: '2s', warmup: '300ms' } },
  ]);
  const perS = (r: TargetResult) => r.host_cpu!.total_ns / r.host_cpu!.window_ns;
  t.log(`open loop ${(perS(open!) * 100).toFixed(1)} % of a core at ${(open as { tps?: number }).tps} tx/s; closed ${(perS(closed!) * 100).toFixed(1)} % at ${Math.round((closed as { tps?: number }).tps!)} tx/s`);
  t.true(within((open as { tps?: number }).tps!, 95, 105), 'the rate the test asked for');
  t.true(perS(open!) > 0 && perS(open!) < 0.15, 'an open loop at 100 req/s: under 15 % of a core');
  t.true(perS(closed!) > 4 * perS(open!), 'the closed loop spends more than 4x as much');
});

const runcSkip = skips.get('runc');
const runscSkip = skips.get('runsc');
const gvSkip = runcSkip ?? runscSkip;
testIf(gvSkip, test.serial)('runc: the busy loop is the container\'s CPU; gVisor spends more host CPU per probe CPU than runc on the same syscalls' + why(gvSkip), async (t) => {
  // Reads over 256 MiB: a small region stays in the Sentry's own cache, where gVisor counts
  // serving it as the probe's CPU and the two factors meet (8 MiB: runsc 1.02, runc 1.00).
  const SYSCALLS: Workload = { kind: 'block', options: { engine: 'psync', bs: '4k', size: '256M', duration: '2s', warmup: '300ms' } };
  const big = { dataSize: 256 << 20 };
  const [busy, runcSys] = await run('runc', [BUSY, SYSCALLS], big);
  const c = busy!.host_cpu!;
  const had = busyCpu(busy!);
  t.true(within(c.by_role.container ?? 0, 0.95 * had, 1.05 * had), `runc container role ${ms(c.by_role.container)} for the 2 s loop that had ${ms(had)} of CPU`);
  t.true(within(c.total_ns / busy!.cpu.window_ns!, 0.95, 1.1), 'runc overhead factor about 1');
  t.true(busy!.startup!.ns > 1e6 && busy!.startup!.host_cpu_ns! > 1e6, `start-up ${ms(busy!.startup!.ns)}, ${ms(busy!.startup!.host_cpu_ns)} of host CPU`);
  t.true(within(busy!.host_memory!.pss_bytes, 2 ** 20, 200 * 2 ** 20), `memory ${busy!.host_memory!.pss_bytes} bytes`);
  const [gvSys] = await run('runsc', [SYSCALLS], big);
  const f = (r: TargetResult) => r.host_cpu!.total_ns / r.cpu.window_ns!;
  t.log(`psync factor: runc ${f(runcSys!).toFixed(2)}, runsc ${f(gvSys!).toFixed(2)}; runsc roles ${JSON.stringify(gvSys!.host_cpu!.by_role)}`);
  // More than the accounting's own error (the host's factor is held within 0.95-1.1 above): the
  // Sentry's CPU serving each syscall is host CPU that the probe's own clock does not count.
  t.true(f(gvSys!) > f(runcSys!) * 1.05, 'gVisor: the Sentry serves each syscall on the host');
  t.true((gvSys!.host_cpu!.by_role.sentry ?? 0) > 0.1 * gvSys!.host_cpu!.total_ns, 'the Sentry is named among the roles');
});

/**
 * The VMM's utime + stime (ticks) as the test reads them from /proc while the guest runs, and how
 * long its vCPU threads have waited, runnable, for a CPU (their schedstat): what other load took.
 */
function watchVmm(): { stop(): { pid: number; ticks: number; vcpuRunDelayNs: number } | undefined } {
  let last: { pid: number; ticks: number; vcpuRunDelayNs: number } | undefined;
  const timer = setInterval(() => {
    for (const n of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        if (!readFileSync(`/proc/${n}/cmdline`, 'utf8').includes('debug-threads=on')) continue;
        const f = readFileSync(`/proc/${n}/stat`, 'utf8').split(') ')[1]!.split(' ');
        let vcpuRunDelayNs = 0;
        for (const tid of readdirSync(`/proc/${n}/task`)) {
          if (!/^CPU \d+\/(TCG|KVM)$/.test(readFileSync(`/proc/${n}/task/${tid}/comm`, 'utf8').trim())) continue;
          vcpuRunDelayNs += Number(readFileSync(`/proc/${n}/task/${tid}/schedstat`, 'utf8').split(' ')[1] ?? 0);
        }
        last = { pid: Number(n), ticks: Number(f[11]) + Number(f[12]), vcpuRunDelayNs };
      } catch {
        /* gone */
      }
    }
  }, 20);
  return { stop: () => (clearInterval(timer), last) };
}

const qemuSkip = skips.get('qemu-microvm');
// The guest near idle (an open loop of 10 req/s on its own loopback), in the same boot as the busy
// loop: the boundary's idle cost. One vCPU, so the busy loop holds all of it: with two, the idle
// second vCPU's timer work (TCG: 50-110 ms per 2 s here) is added to the load's 2 s.
const NEAR_IDLE: Workload = { kind: 'rr', options: { rate: 10, duration: '2s', warmup: '100ms' }, placement: 'loopback' };

testIf(qemuSkip, test.serial)('qemu-microvm (TCG): the guest\'s busy loop is the vCPU thread\'s window, the VMM\'s other threads their idle cost, not the boot; the VMM\'s total agrees with its /proc' + why(qemuSkip), async (t) => {
  const w = watchVmm();
  const [idle, r] = await run('qemu-microvm', [NEAR_IDLE, BUSY], { memMiB: 256, vcpus: 1 });
  const seen = w.stop();
  const c = r!.host_cpu!;
  const i = idle!.host_cpu!;
  const others = (h: typeof c) => h.total_ns - (h.by_role.vcpu ?? 0);
  const idleOthers = (others(i) / i.window_ns) * c.window_ns;
  t.log(`near idle: vCPU ${ms(i.by_role.vcpu)}, other threads ${ms(others(i))} over ${ms(i.window_ns)}; busy: vCPU ${ms(c.by_role.vcpu)}, other ${ms(others(c))} over ${ms(c.window_ns)} (the guest's ${ms(r!.elapsed_ns)}), error bound ${ms(c.sampling_error_ns)}`);
  t.log(`roles ${JSON.stringify(c.by_role)}, start-up ${ms(r!.startup!.ns)} with ${ms(r!.startup!.host_cpu_ns)} of host CPU, memory ${JSON.stringify(r!.host_memory)}`);
  t.true((i.by_role.vcpu ?? 0) < 0.5 * i.window_ns, 'the near-idle guest leaves its vCPU mostly idle');
  t.true(c.sampling_error_ns < 0.01 * D, `the window's edges: error bound ${ms(c.sampling_error_ns)} under 1 % of 2 s`);
  const tol = 0.05 * D + c.sampling_error_ns;
  // Other load on the machine can take the vCPU's CPU while the guest's clock runs on (TCG): the
  // vCPU threads' whole wait for a CPU over the VMM's life, read by the test, bounds what it lost.
  const lost = seen?.vcpuRunDelayNs ?? 0;
  t.log(`the vCPU threads waited ${ms(lost)} for a CPU over the VMM's life`);
  t.true((c.by_role.vcpu ?? 0) >= D - tol - lost && (c.by_role.vcpu ?? 0) <= D + tol, `vCPU thread ${ms(c.by_role.vcpu)} for the guest's 2 s loop (± 5 % + the stated error, less what waiting for a CPU took)`);
  t.true(c.total_ns >= D + idleOthers - tol - lost && c.total_ns <= D + idleOthers + tol, `total ${ms(c.total_ns)}: the load plus the VMM's other threads at their idle cost ${ms(idleOthers)}`);
  t.true(r!.startup!.host_cpu_ns! > 0.5e9, `the boot's own ${ms(r!.startup!.host_cpu_ns)}, outside the window`);
  t.true((c.by_role['vmm-main'] ?? 0) > 0, 'the main loop is named');
  t.truthy(seen, 'the test saw the VMM');
  const fromProc = seen!.ticks * 1e7;
  const vmm = r!.boot!.vmm_host_cpu_ns!;
  t.log(`VMM over the boot: isoprobe ${ms(vmm)}, its /proc/${seen!.pid}/stat last read by the test ${ms(fromProc)}`);
  t.true(Math.abs(vmm - fromProc) <= 0.02 * fromProc + 50e6, 'within 2 % (+ the 20 ms the test polls at, + a tick)');
});

testIf(qemuSkip, test.serial)('qemu-microvm: 256 MiB and 1 GiB guests differ in guest RAM, not in the VMM\'s own memory' + why(qemuSkip), async (t) => {
  const SHORT: Workload = { kind: 'block', options: { engine: 'null', size: '8M', duration: '300ms', warmup: '100ms' } };
  const [small] = await run('qemu-microvm', [SHORT], { memMiB: 256 });
  const [big] = await run('qemu-microvm', [SHORT], { memMiB: 1024 });
  const a = small!.host_memory!;
  const b = big!.host_memory!;
  t.log(`256M: guest ${a.guest_resident_bytes! >> 20} MiB resident, own ${a.vmm_own_bytes! >> 20} MiB; 1G: guest ${b.guest_resident_bytes! >> 20}, own ${b.vmm_own_bytes! >> 20}`);
  t.is(a.guest_configured_bytes, 256 * 2 ** 20);
  t.is(b.guest_configured_bytes, 1024 * 2 ** 20);
  t.true(b.guest_resident_bytes! > a.guest_resident_bytes!, 'a bigger guest touches more of its RAM (its memory map)');
  t.true(Math.abs(b.vmm_own_bytes! - a.vmm_own_bytes!) < 0.15 * a.vmm_own_bytes!, "the VMM's own memory stays within 15 %");
});

function side(label: string, target: string, workload: string, rs: TargetResult[]): Side {
  return { label, results: new Map([[workload, new Map([[target, rs]])]]) };
}

testIf(rootSkip, test.serial)('the gate: a client that spins for the same rate is a host-CPU regression with throughput unchanged; A/A passes' + why(rootSkip), async (t) => {
  const open = (spin: boolean): Workload => ({ kind: 'rr', options: { rate: 200, spin, duration: '1s', warmup: '200ms' } });
  const reps = 6;
  const base: TargetResult[] = [];
  const again: TargetResult[] = [];
  const spun: TargetResult[] = [];
  for (let i = 0; i < reps; i++) {
    const [a, b, c] = await run('host', [open(false), open(false), open(true)]);
    base.push(a!), again.push(b!), spun.push(c!);
  }
  const o = { alpha: 0.01, threshold: 0.05, seed: 1 };
  const g = suiteGate(side('base', 'host', 'rr', base), side('spin', 'host', 'rr', spun), o);
  const cell = (m: string) => g.cells.find((x) => x.metric === m);
  t.log(g.cells.map((x) => `${x.metric} ${x.verdict} x${x.change.estimate.toFixed(2)}`).join('; '));
  t.is(cell('host_cpu_per_op')?.verdict, 'regression');
  t.true(cell('host_cpu_per_op')!.change.estimate > 5, 'a spinning client: many times the CPU per request');
  t.not(cell('tps')?.verdict, 'regression', 'the rate is unchanged');
  const aa = suiteGate(side('base', 'host', 'rr', base), side('again', 'host', 'rr', again), o);
  t.is(aa.regressions, 0, `A/A: ${aa.cells.filter((x) => x.verdict === 'regression').map((x) => x.metric).join(', ')}`);
});
