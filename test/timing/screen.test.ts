// The disturbance screen against a disturbance the test makes and records itself: a CPU hog pinned
// to the measuring CPU, switched on for a seeded random half of the blocks. The hog's own CPU time
// per block (from /proc, not from isoprobe) says when it ran; the screen must flag exactly the
// blocks it ran in, and the probe's run delay and the canary must move with it. Then a hog switched
// on and off at random within blocks (its duty cycle): run delay and canary against its own record,
// and an A/A under it: the disturbed pairs discarded, the quiet ones kept, nothing flagged.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { type BlockPair, pairedGate } from '../../lib/compare/paired-gate';
import { disturbedBy, Screener } from '../../lib/compare/screen';
import { runBlock } from '../../lib/probe/block';
import type { BlockResult } from '../../lib/probe/types';
import { pairsNeeded } from '../../lib/stats/paired';
import { rng } from '../../lib/stats/resample';
import { planShield, raiseShield } from '../../lib/system/shield';
import type { TargetResult } from '../../lib/targets/types';
import { tempDir } from '../helpers';
import { allowedCpus } from '../machine';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const cpu = allowedCpus()[0]!;

/**
 * The measuring CPU shielded (--shield's own code) where this machine can, so the test's hog is
 * the disturbance and other work on the machine is not: restored after the test.
 */
function shielded(t: { log: (...x: unknown[]) => void; teardown: (f: () => void) => void }): void {
  const plan = process.getuid?.() === 0 ? planShield([cpu], allowedCpus()) : { refused: 'needs root' };
  if ('refused' in plan) return t.log(`not shielded: ${plan.refused}`);
  const s = raiseShield(plan);
  t.teardown(() => s.restore());
}
const ticks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 1e7;  // utime + stime, ns at USER_HZ 100
};

/** Busy ticks (user, nice, system, irq, softirq) of one CPU, from /proc/stat: 10 ms each. */
function busyTicks(c: number): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${c} `))!.trim().split(/\s+/).slice(1).map(Number);
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]!;
}

test.serial('a hog on the measuring CPU: the screen flags the blocks it ran in and keeps the quiet ones', async (t) => {
  shielded(t);
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
  for (const x of on) t.true(x.hogNs >= 50e6, `the hog ran ${x.hogNs / 1e6} ms beside a 1 s block`);
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

/**
 * A hog pinned to the CPU that the test switches on and off (SIGCONT/SIGSTOP) in 20 ms slots, each
 * slot on with the chance `duty` (seeded): its own CPU time from /proc is the record of when it ran.
 */
function dutyHog(cpu: number): { setDuty: (d: number, r: () => number) => void; ranNs: () => number; stop: () => void } {
  const hog = spawn('taskset', ['-c', String(cpu), process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' });
  let timer: NodeJS.Timeout | undefined;
  const set = (on: boolean) => hog.kill(on ? 'SIGCONT' : 'SIGSTOP');
  set(false);
  return {
    setDuty: (d, r) => {
      clearInterval(timer);
      set(r() < d);
      timer = d > 0 ? setInterval(() => set(r() < d), 20) : undefined;
      if (!timer) set(false);
    },
    ranNs: () => ticks(hog.pid!),
    stop: () => {
      clearInterval(timer);
      hog.kill('SIGKILL');
    },
  };
}

test.serial('run delay and canary move with a hog switched on and off at random, against the hog\'s own record', async (t) => {
  shielded(t);
  const seed = 777;
  const r = rng(seed);
  const screener = new Screener(cpu);
  screener.calibrate();
  const hog = dutyHog(cpu);
  const rows: { duty: number; hog: number; others: number; runDelay: number | null; canary: number }[] = [];
  try {
    // Each duty a fixed number of times in a seeded random order: blocks with and without the hog
    // are certain, their order is not (twelve independent draws once gave no 0 at all).
    const duties = [0, 0, 0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 1, 1, 1];
    for (let i = duties.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [duties[i], duties[j]] = [duties[j]!, duties[i]!];
    }
    for (const duty of duties) {
      hog.setDuty(duty, r);
      const h0 = hog.ranNs();
      const b0 = busyTicks(cpu);
      const { value, disturbance } = await screener.around(() => runBlock({ file: join(tmp.dir, 'd'), size: '8M', engine: 'null', duration: '1s', warmup: '20ms', cpus: String(cpu) }));
      const b1 = busyTicks(cpu);
      const ran = hog.ranNs() - h0;
      hog.setDuty(0, r);
      if (value instanceof Error) throw value;
      const win = value.elapsed_ns;
      // The hog's share of the block's window (its own /proc time), and what else ran on that CPU.
      rows.push({ duty, hog: ran / win, others: Math.max(0, ((b1 - b0) * 1e7 - ran - (value.cpu.user_ns + value.cpu.sys_ns)) / win), runDelay: disturbance.runDelay, canary: disturbance.canary });
    }
  } finally {
    hog.stop();
  }
  t.log(`seed ${seed}:`, rows.map((x) => `duty ${x.duty}: hog ran ${(x.hog * 100).toFixed(0)} %, others ${(x.others * 100).toFixed(0)} %, run delay ${x.runDelay === null ? '-' : (x.runDelay * 100).toFixed(0)} %, canary ${x.canary.toFixed(2)}x`).join('; '));
  t.true(rows.some((x) => x.hog > 0.2) && rows.some((x) => x.hog < 0.02), 'blocks with and without the hog');
  if (rows[0]!.runDelay !== null) {
    // The probe (always runnable: the null engine) waits while the hog runs on its CPU: at least
    // half of the hog's time, at most the hog's and the others' together, within a tick of 10 ms a side.
    const slack = 2 * 1e7 / 1e9;
    for (const x of rows) {
      t.true(x.runDelay! >= 0.5 * x.hog - slack, `run delay ${x.runDelay} below half the hog's share ${x.hog}`);
      t.true(x.runDelay! <= x.hog + x.others + slack + 0.02, `run delay ${x.runDelay} above what ran beside it (hog ${x.hog}, others ${x.others})`);
    }
  }
  // The canary (8 ms before and after) meets the hog as often as the duty says: its mean rises with it.
  const mean = (xs: number[]) => xs.reduce((a, v) => a + v, 0) / Math.max(1, xs.length);
  const hi = rows.filter((x) => x.duty >= 0.75).map((x) => x.canary);
  const lo = rows.filter((x) => x.duty === 0).map((x) => x.canary);
  if (hi.length && lo.length) t.true(mean(hi) > mean(lo), `canary ${mean(hi)} at duty >= 0.75 vs ${mean(lo)} without the hog`);
});

test.serial('an A/A under a hog switched on at random: the screen discards the pairs it ran in, keeps the quiet ones, and the gate flags nothing', async (t) => {
  shielded(t);
  const seed = 99;
  const r = rng(seed);
  const screener = new Screener(cpu);
  screener.calibrate();
  const hog = dutyHog(cpu);
  const pairs: { pair: BlockPair; why?: string; hog: number; others: number }[] = [];
  const block = () => runBlock({ file: join(tmp.dir, 'aa'), size: '8M', engine: 'null', duration: '200ms', warmup: '20ms', cpus: String(cpu) });
  try {
    for (let i = 0; i < 24; i++) {
      hog.setDuty(r() < 0.4 ? 0.5 : 0, r);
      const h0 = hog.ranNs();
      const b0 = busyTicks(cpu);
      const got: { v: BlockResult; why?: string }[] = [];
      for (let k = 0; k < 2; k++) {
        const { value, disturbance } = await screener.around(block);
        if (value instanceof Error) throw value;
        got.push({ v: value, why: disturbedBy(disturbance) });
      }
      const ran = hog.ranNs() - h0;
      const own = got.reduce((s, g) => s + g.v.cpu.user_ns + g.v.cpu.sys_ns, 0);
      const win = got.reduce((s, g) => s + g.v.elapsed_ns, 0);
      const others = Math.max(0, ((busyTicks(cpu) - b0) * 1e7 - ran - own) / win);
      hog.setDuty(0, r);
      const [a, b] = i % 2 ? [got[1]!, got[0]!] : [got[0]!, got[1]!];
      const why = [a.why, b.why].filter(Boolean).join('; ') || undefined;
      pairs.push({ pair: { workload: 'null-aa', a: a.v as unknown as TargetResult, b: b.v as unknown as TargetResult, order: i % 2 ? 'BA' : 'AB' }, why, hog: ran / win, others });
    }
  } finally {
    hog.stop();
  }
  t.log(`seed ${seed}:`, pairs.map((p) => `hog ${(p.hog * 100).toFixed(0)} % others ${(p.others * 100).toFixed(0)} %: ${p.why ?? 'kept'}`).join('; '));
  // The hog's own record decides: a pair it ran a tenth of beside is discarded; a pair where
  // neither it nor anything else ran (under 2 % of the CPU) is kept.
  for (const p of pairs.filter((x) => x.hog > 0.1)) t.truthy(p.why, `a pair the hog ran ${(p.hog * 100).toFixed(0)} % beside was kept`);
  for (const p of pairs.filter((x) => x.hog < 0.01 && x.others < 0.02)) t.falsy(p.why, `a quiet pair was discarded: ${p.why}`);
  const kept = pairs.filter((p) => !p.why).map((p) => p.pair);
  t.true(pairs.some((x) => x.hog > 0.1), 'the hog ran beside some pairs');
  if (kept.length < pairsNeeded(0.01)) {
    t.log(`only ${kept.length} quiet pairs: too few for the gate at alpha 0.01; the A/A verdict is not checked on this run`);
    return;
  }
  const g = pairedGate(kept, { baseline: 'A', candidate: 'A again', target: 'host', candidateTarget: 'host' }, { alpha: 0.01, threshold: 0.05, seed });
  t.log(`A/A over ${kept.length} kept pairs: ${g.cells.map((c) => `${c.metric} ${c.verdict}`).join(', ')}`);
  t.true(g.cells.length > 0, 'the gate tested the kept pairs');
  t.is(g.regressions, 0, 'an A/A flagged a regression');
});
