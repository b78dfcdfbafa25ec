// The disturbance screen against a disturbance the test makes and records itself: a CPU hog pinned
// to the measuring CPU, switched on for a seeded random half of the blocks. The hog's own CPU time
// per block (from /proc, not from isoprobe) says when it ran; the screen must flag exactly the
// blocks it ran in, and the probe's run delay and the canary must move with it.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { disturbedBy, Screener } from '../../lib/compare/screen';
import { runBlock } from '../../lib/probe/block';
import { rng } from '../../lib/stats/resample';
import { tempDir } from '../helpers';
import { allowedCpus } from '../machine';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const cpu = allowedCpus()[0]!;
const ticks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 1e7;  // utime + stime, ns at USER_HZ 100
};

/** Busy ticks (user, nice, system, irq, softirq) of one CPU, from /proc/stat: 10 ms each. */
function busyTicks(c: number): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${c} `))!.trim().split(/\s+/).slice(1).map(Number);
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]!;
}

test('a hog on the measuring CPU: the screen flags the blocks it ran in and keeps the quiet ones', async (t) => {
  const seed = 4242;
  const r = rng(seed);
  const screener = new Screener(cpu);
  screener.calibrate();
  const rows: { hog: boolean; hogNs: number; others: number; why?: string; runDelay: number | null; canary: number }[] = [];
  for (let i = 0; i < 12; i++) {
    const on = r() < 0.5;
    const hog = on ? spawn('taskset', ['-c', String(cpu), process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' }) : undefined;
    await new Promise((res) => setTimeout(res, on ? 100 : 0));
    const before = hog ? ticks(hog.pid!) : 0;
    const b0 = busyTicks(cpu);
    const { value, disturbance } = await screener.around(() => runBlock({ file: join(tmp.dir, 'd'), size: '8M', engine: 'null', duration: '1s', warmup: '20ms', cpus: String(cpu) }));
    const b1 = busyTicks(cpu);
    const hogNs = hog ? ticks(hog.pid!) - before : 0;
    hog?.kill('SIGKILL');
    if (value instanceof Error) throw value;
    // What else ran on that CPU, read from /proc/stat, not from isoprobe: its busy time less the probe's own.
    const others = Math.max(0, ((b1 - b0) * 1e7 - (value.cpu.user_ns + value.cpu.sys_ns)) / value.elapsed_ns);
    rows.push({ hog: on, hogNs, others, why: disturbedBy(disturbance), runDelay: disturbance.runDelay, canary: disturbance.canary });
  }
  t.log(`seed ${seed}:`, rows.map((x) => `${x.hog ? 'hog' : 'no hog'} (hog ${(x.hogNs / 1e6).toFixed(0)} ms, others ${(x.others * 100).toFixed(0)} % of the CPU): ${x.why ?? 'kept'}`).join('; '));
  const on = rows.filter((x) => x.hog);
  const off = rows.filter((x) => !x.hog);
  t.true(on.length >= 3 && off.length >= 3, 'both kinds of block were measured');
  // The reference: the hog really ran on that CPU during each of its blocks (its own /proc times).
  for (const x of on) t.true(x.hogNs >= 200e6, `the hog ran ${x.hogNs / 1e6} ms beside a 1 s block`);
  for (const x of on) t.truthy(x.why, `a block beside the hog was kept: ${JSON.stringify(x)}`);
  // Without the test's hog a block is kept where /proc/stat saw the CPU quiet (others under 2 %),
  // and flagged where it saw other load take a tenth of it (a machine that is not idle).
  for (const x of off.filter((y) => y.others < 0.02)) t.falsy(x.why, `a quiet block was flagged: ${JSON.stringify(x)}`);
  for (const x of off.filter((y) => y.others > 0.1)) t.truthy(x.why, `a block beside other load was kept: ${JSON.stringify(x)}`);
  // Run delay and canary move with the hog: the hog shares the CPU, so the probe waits for about half of it.
  const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / xs.length;
  if (on[0]!.runDelay !== null) {
    t.true(mean(on.map((x) => x.runDelay!)) > 0.2, `run delay beside the hog ${mean(on.map((x) => x.runDelay!))}`);
    t.true(mean(on.map((x) => x.runDelay!)) > mean(off.map((x) => x.runDelay!)) + 0.15, 'run delay rises with the hog');
  }
  // The canary moves with the hog too; by 1.3x at least against blocks /proc/stat saw quiet (a
  // canary beside other load is stretched already, and the hog then adds less).
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const quiet = off.filter((y) => y.others < 0.02);
  t.true(med(on.map((x) => x.canary)) > med(off.map((x) => x.canary)), `canary ${med(on.map((x) => x.canary))} beside the hog vs ${med(off.map((x) => x.canary))}`);
  if (quiet.length >= 3) t.true(med(on.map((x) => x.canary)) > 1.3 * med(quiet.map((x) => x.canary)), `canary ${med(on.map((x) => x.canary))} beside the hog vs ${med(quiet.map((x) => x.canary))} quiet`);
});
