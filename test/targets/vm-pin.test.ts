// pin=on (Firecracker's performance-test layout) on a real guest: the vCPU thread on the first CPU
// isoprobe may use, the VMM's other threads on the others, checked by the test itself from /proc while the guest runs
// (each QEMU thread's Cpus_allowed_list), and the result's record of where each thread ran.
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';

import { parseCpuList, threadAllowedCpus } from '../../lib/cost/proc';
import type { IsoprobeError } from '../../lib/errors';
import { formatTargetResult } from '../../lib/report/target-text';
import { makeTarget } from '../../lib/targets';
import type { TargetResult } from '../../lib/targets/types';
import type { VmSpec } from '../../lib/targets/vm';
import { pinLayout } from '../../lib/targets/vm-pin';
import { targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const read = (p: string) => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};

/** Each thread of this test's own QEMU children: its name and the CPUs it may run on, as /proc says. */
function qemuThreadsOfOurs(): Map<string, string> {
  const out = new Map<string, string>();
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    const stat = read(`/proc/${pid}/stat`);
    if (!stat.includes('(qemu-system-x86') || Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const comm = read(`/proc/${pid}/task/${tid}/comm`).trim();
      const allowed = /^Cpus_allowed_list:\s*(\S+)/m.exec(read(`/proc/${pid}/task/${tid}/status`))?.[1];
      if (comm && allowed) out.set(`${comm}#${tid === pid ? 'main' : tid}`, allowed);
    }
  }
  return out;
}

// The CPUs isoprobe may use, as the product reads them: this process's Cpus_allowed_list (taskset,
// a cpuset), not the machine's CPU count.
const allowed = threadAllowedCpus(process.pid, process.pid) ?? [];

test('pin=on with more vCPUs than host CPUs is refused before anything starts, naming both counts', async (t) => {
  const n = allowed.length;
  const e = await t.throwsAsync(makeTarget('qemu-microvm').start({ pin: true, vcpus: n + 1, network: false } as VmSpec)) as IsoprobeError;
  t.is(e.code, 'EINVALOPT');
  t.is(e.message, `pin=on: ${n + 1} vCPUs need ${n + 1} host CPUs to pin one each, and isoprobe may use ${n} (${allowed.join(',')}); expected vcpus=${n} or fewer, or pin=off`);
});

const qemuSkip = targetSkips(['qemu-microvm']).get('qemu-microvm');
// One vCPU and the VMM apart: the layout the product makes of those CPUs, shared where only one.
const layout = pinLayout(1, allowed);
const apart = layout.shared ? `pin=on keeps the vCPU and the VMM apart only with two CPUs to use, and this process may use ${allowed.join(',')}` : undefined;
const list = (cpus: number[]) => cpus.join(',');

testIf(qemuSkip ?? apart, test.serial)(`pin=on: the vCPU thread runs on the first allowed CPU (${layout.vcpus}) alone and the VMM's threads on the others (${list(layout.vmm)}), as /proc shows during the run and the result records` + why(qemuSkip ?? apart), async (t) => {
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: false, vcpus: 1, pin: true, dataFile: `${tmp.dir}/p.dat`, dataSize: 16 << 20 } as VmSpec);
  const seen = new Map<string, string>();
  const poll = setInterval(() => qemuThreadsOfOurs().forEach((v, k) => seen.set(k, v)), 50);
  try {
    const [r] = await s.runSuite([{ kind: 'block', options: { size: '16M', duration: '600ms', warmup: '100ms', direct: true } }]);
    clearInterval(poll);
    if (r instanceof Error) throw r;
    const res = r as TargetResult;
    t.log(`/proc during the run: ${JSON.stringify([...seen])}`);
    t.log(`host_placement: ${JSON.stringify(res.host_placement)}`);
    const vcpu = [...seen].filter(([k]) => k.startsWith('CPU 0/TCG#'));
    t.true(vcpu.length === 1 && list(parseCpuList(vcpu[0]![1])) === list(layout.vcpus), `the vCPU thread was allowed CPU ${layout.vcpus} alone: ${JSON.stringify(vcpu)}`);
    const others = [...seen].filter(([k]) => !k.startsWith('CPU '));
    t.true(others.length >= 1 && others.every(([, v]) => list(parseCpuList(v)) === list(layout.vmm)), `every other QEMU thread was allowed ${list(layout.vmm)} alone: ${JSON.stringify(others)}`);
    // The result's own record, sampled over the measured window.
    const p = res.host_placement!;
    t.truthy(p, 'a VM result records where its VMM threads ran');
    const v = p.threads.find((x) => x.role === 'vcpu')!;
    t.is(v.name, 'CPU 0/TCG');
    t.deepEqual(v.cpus, layout.vcpus);
    t.deepEqual(v.allowed, layout.vcpus);
    if (v.migrations !== undefined) t.is(v.migrations, 0);
    // It ran in the window, and never more than the window (how much depends on the machine's load).
    const windowNs = res.host_cpu!.window_ns;
    t.true(v.ran_ns > 0 && v.ran_ns <= 1.02 * windowNs, `vCPU ran ${v.ran_ns} of ${windowNs} ns`);
    t.true(p.threads.filter((x) => x.role !== 'vcpu').every((x) => x.cpus.every((c) => layout.vmm.includes(c))), `the VMM's other threads ran on ${list(layout.vmm)}`);
    t.deepEqual(res.target.pinned, layout);
    t.true(res.target.platform!.includes(`pinned (pin=on): vCPU 0 -> host CPU ${layout.vcpus[0]}; the VMM's other threads -> ${list(layout.vmm)}`), res.target.platform);
    t.regex(formatTargetResult(res), new RegExp(`\\n {2}host CPUs {3}CPU 0/TCG on ${layout.vcpus[0]}; .*vmm-main on ${layout.vmm[0]}.* \\(pinned\\)`));
  } finally {
    clearInterval(poll);
    await s.stop();
  }
});
