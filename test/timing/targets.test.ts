// The timing half of the target and cost tests (their causal half stays in the main phase): how
// reports of a boot are spaced, when a hung workload ends, how soon a VMM that cannot power off is
// stopped, how often the placement watch reads. Each bound comes from a reference measured in the
// same test (the guest's own elapsed times, a control VM, the event loop's own timer rate) or from
// the limits the test itself gives the product. In the timing phase: one file at a time.
import test from 'ava';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { PlacementWatch } from '../../lib/cost/placement';
import type { BlockResult, NetResult } from '../../lib/probe/types';
import { makeTarget } from '../../lib/targets';
import type { TargetResult, Workload } from '../../lib/targets/types';
import type { VmSpec } from '../../lib/targets/vm';
import { targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const qemuSkip = targetSkips(['qemu-microvm']).get('qemu-microvm');
const ms = (ns: number) => `${(ns / 1e6).toFixed(0)} ms`;

/** Runs a suite in one boot, noting when (host clock, ns) each workload's result came. */
async function timedSuite(spec: VmSpec, ws: Workload[]): Promise<{ rs: (TargetResult | Error)[]; at: number[]; end: number }> {
  const s = await makeTarget('qemu-microvm').start(spec);
  const at: number[] = [];
  try {
    const t0 = performance.now();
    const rs = await s.runSuite(ws, {}, undefined, (i) => (at[i] = (performance.now() - t0) * 1e6));
    return { rs, at, end: (performance.now() - t0) * 1e6 };
  } finally {
    await s.stop();
  }
}

testIf(qemuSkip, test.serial)('a boot\'s reports are spaced by the workloads between them, as the guest timed them' + why(qemuSkip), async (t) => {
  const w: Workload = { kind: 'rr', options: { duration: '1s', warmup: '100ms' }, placement: 'loopback' };
  const { rs, at, end } = await timedSuite({ accel: 'tcg', network: false } as VmSpec, [w, w, w]);
  const r = rs.map((x) => {
    if (x instanceof Error) throw x;
    return x as TargetResult & NetResult;
  });
  // The reference: each workload's measured time by the guest's own clock. Report k cannot come
  // before workload k ran after report k-1's frame; a delivery all at the end would space them by ~0.
  const ran = r.map((x) => x.elapsed_ns);
  t.log(`reports at ${at.map(ms).join(', ')}; boot ended at ${ms(end)}; the guest measured ${ran.map(ms).join(', ')}`);
  for (let k = 1; k < 3; k++) t.true(at[k]! - at[k - 1]! >= 0.9 * ran[k]!, `report ${k} came ${ms(at[k]! - at[k - 1]!)} after the one before; workload ${k} ran ${ms(ran[k]!)}`);
  t.true(end - at[0]! >= 0.9 * (ran[1]! + ran[2]!), `the first report came ${ms(end - at[0]!)} before the boot ended; the two after it ran ${ms(ran[1]! + ran[2]!)}`);
});

testIf(qemuSkip, test.serial)('a hung workload ends at its deadline in the guest, before the host\'s limit' + why(qemuSkip), async (t) => {
  // The limits are the test's: the guest's deadline for an ops-bound run is its 5 s budget plus 5 s
  // (10 s); the host kills the boot bootTimeoutS past a workload's budget.
  const bootTimeoutS = 20;
  const deadlineNs = 10e9;
  const SHORT = { duration: '300ms', warmup: '50ms' };
  const { rs, at } = await timedSuite({ accel: 'tcg', dataFile: `${tmp.dir}/hang.dat`, dataSize: 16 << 20, network: false, bootTimeoutS } as VmSpec, [
    { kind: 'block', options: { direct: true, size: '16M', ...SHORT } },
    { kind: 'block', options: { direct: true, size: '16M', ops: 1_000_000_000, warmup: '0s' } },
    { kind: 'block', options: { direct: true, size: '16M', pattern: 'randread', ...SHORT } },
  ]);
  t.true(rs[1] instanceof Error, String(rs[1]));
  const b = rs[2] as TargetResult & BlockResult;
  t.false(b instanceof Error, String(b));
  // Between the first result and the last: the hung workload up to its deadline, then the last one.
  const span = at[2]! - at[0]!;
  t.log(`first result to last: ${ms(span)} (deadline ${ms(deadlineNs)}, the last workload ran ${ms(b.elapsed_ns)})`);
  t.true(span >= deadlineNs, `${ms(span)}: not before the deadline`);
  t.true(span < deadlineNs + bootTimeoutS * 1e9, `${ms(span)}: the deadline ended it, not the host's limit`);
});

testIf(qemuSkip, test.serial)('a VMM the guest cannot power off is stopped within its exit grace of the result, against a guest that powers off' + why(qemuSkip), async (t) => {
  const SHORT = { duration: '300ms', warmup: '50ms' };
  type Booted = TargetResult & { boot: { ended_by: string; vmm_start_to_first_result_ns: number; vmm_start_to_exit_ns: number } };
  const afterResult = async (spec: VmSpec): Promise<Booted & { after: number }> => {
    const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: false, ...spec } as VmSpec);
    try {
      const r = (await s.run({ kind: 'rr', options: SHORT, placement: 'loopback' })) as Booted;
      return { ...r, after: r.boot.vmm_start_to_exit_ns - r.boot.vmm_start_to_first_result_ns };
    } finally {
      await s.stop();
    }
  };
  const graceMs = 1000;
  const control = await afterResult({});
  const halted = await afterResult({ acpi: false, exitGraceMs: graceMs } as VmSpec);
  t.log(`result to exit: ${ms(control.after)} powering off (the control), ${ms(halted.after)} halted with a ${graceMs} ms grace`);
  t.is(control.boot.ended_by, 'guest');
  t.is(halted.boot.ended_by, 'isoprobe after DONE');
  t.true(halted.after >= graceMs * 1e6, 'isoprobe waited its grace for the VMM to exit by itself');
  // The kill comes at the end of the grace; from the result to DONE and from the kill to the exit
  // take about what the control took from its result to its exit, and never a second grace.
  t.true(halted.after <= 2 * graceMs * 1e6 + control.after, `${ms(halted.after)}: the grace, what the control took (${ms(control.after)}), and less than another grace`);
});

test.serial('the placement watch reads at its interval, as often as the event loop runs a timer of that interval', async (t) => {
  const child = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
  try {
    // The reference: a timer of the same interval on the same event loop, over the same window.
    let ticks = 0;
    const ref = setInterval(() => ticks++, 10);
    const w = new PlacementWatch({ processes: [{ pid: child.pid!, role: 'container' }] }, 10).start();
    await sleep(1000);
    const p = w.stop();
    clearInterval(ref);
    t.log(`${p.samples} readings; the reference timer fired ${ticks} times`);
    t.true(ticks >= 2, `the reference timer fired ${ticks} times in a second`);
    t.true(p.samples >= 0.8 * ticks && p.samples <= ticks + 3, `${p.samples} readings against ${ticks} timer ticks`);
  } finally {
    child.kill('SIGKILL');
  }
});
