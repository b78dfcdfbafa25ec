// The disturbance screen against a disturbance the test makes and records itself: a CPU hog pinned
// to the measuring CPU, switched on for a seeded random half of the blocks. The hog's own CPU time
// per block (from /proc, not from isoprobe) says when it ran; the screen must flag exactly the
// blocks it ran in, and the probe's run delay and the canary must move with it.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Screener } from '../../lib/compare/screen';
import { runBlock } from '../../lib/probe/block';
import { rng } from '../../lib/stats/resample';
import { tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const cpu = Number((/^Cpus_allowed_list:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8')) ?? [])[1] ?? 0);
const ticks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * 1e7;  // utime + stime, ns at USER_HZ 100
};

test('a hog on the measuring CPU: the screen flags the blocks it ran in and keeps the others', async (t) => {
  const seed = 4242;
  const r = rng(seed);
  const screener = new Screener(cpu);
  screener.calibrate();
  const rows: { hog: boolean; hogNs: number; why?: string; runDelay: number | null; canary: number }[] = [];
  for (let i = 0; i < 12; i++) {
    const on = r() < 0.5;
    const hog = on ? spawn('taskset', ['-c', String(cpu), process.execPath, '-e', 'for (;;) {}'], { stdio: 'ignore' }) : undefined;
    await new Promise((res) => setTimeout(res, on ? 100 : 0));
    const before = hog ? ticks(hog.pid!) : 0;
    const { value, disturbance } = await screener.around(() => runBlock({ file: join(tmp.dir, 'd'), size: '8M', engine: 'null', duration: '300ms', warmup: '20ms', cpus: String(cpu) }));
    const hogNs = hog ? ticks(hog.pid!) - before : 0;
    hog?.kill('SIGKILL');
    if (value instanceof Error) throw value;
    const { disturbedBy } = await import('../../lib/compare/screen');
    rows.push({ hog: on, hogNs, why: disturbedBy(disturbance), runDelay: disturbance.runDelay, canary: disturbance.canary });
  }
  t.log(`seed ${seed}:`, rows.map((x) => `${x.hog ? 'hog' : 'quiet'} (hog ${(x.hogNs / 1e6).toFixed(0)} ms): ${x.why ?? 'kept'}`).join('; '));
  const on = rows.filter((x) => x.hog);
  const off = rows.filter((x) => !x.hog);
  t.true(on.length >= 3 && off.length >= 3, 'both kinds of block were measured');
  // The reference: the hog really ran on that CPU during each of its blocks (its own /proc times).
  for (const x of on) t.true(x.hogNs >= 100e6, `the hog ran ${x.hogNs / 1e6} ms beside a 300 ms block`);
  for (const x of on) t.truthy(x.why, `a block beside the hog was kept: ${JSON.stringify(x)}`);
  t.true(off.filter((x) => !x.why).length >= off.length - 1, `quiet blocks flagged: ${off.filter((x) => x.why).map((x) => x.why).join('; ')}`);
  // Run delay and canary move with the hog: the hog shares the CPU, so the probe waits for about half of it.
  if (on[0]!.runDelay !== null) {
    const mean = (xs: number[]) => xs.reduce((s, v) => s + v, 0) / xs.length;
    t.true(mean(on.map((x) => x.runDelay!)) > 0.2, `run delay beside the hog ${mean(on.map((x) => x.runDelay!))}`);
    t.true(mean(on.map((x) => x.runDelay!)) > 5 * mean(off.map((x) => x.runDelay!)) , 'run delay rises with the hog');
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  t.true(med(on.map((x) => x.canary)) > 1.5 * med(off.map((x) => x.canary)), `canary ${med(on.map((x) => x.canary))} vs ${med(off.map((x) => x.canary))}`);
});
