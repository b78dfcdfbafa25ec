// The block probe's timing, each bound taken from a reference measured in the same test on the
// same machine at the same moment, never from a constant that holds only on an idle machine: the
// event loop's pace during a run against its pace with none, how far a per-second interval runs
// past its second against the stalls a busy thread sees meanwhile, how soon a cancel ends a run
// against how soon a run ends by itself, and the null engine against a page-cache read.
// (What follows from the rules alone stays in test/probe/block.test.ts, in the main phase.)
import test from 'ava';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { runBlock } from '../../lib/probe/block';
import { tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Ticks per second of a 50 ms interval timer on this event loop while `during` runs. */
async function tickRate(during: () => Promise<unknown>): Promise<{ rate: number; ticks: number; ms: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 50);
  const t0 = performance.now();
  try {
    await during();
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - t0;
  return { rate: (ticks * 1000) / ms, ticks, ms };
}

// The addon measures on threads of its own; the event loop only receives a progress call once a
// second and the result. Idle, a 50 ms timer ticks ~20 times a second. During the run the measuring
// thread keeps one CPU busy: where it shares a CPU with this thread (one CPU, or a loaded machine),
// the scheduler still wakes a sleeping timer thread ahead of a busy one, each tick at most about
// one scheduler slice late (a few ms, up to ~24 ms on a crowded run queue), and setInterval
// re-arms from when its callback ran, so lateness costs at most 24/(50+24) ~ a third of the ticks.
// Half the idle rate is below that and far above a loop the addon blocks: a run held on the loop
// for its 2.2 s gives ~1 tick, one blocking a few hundred ms per second gives well under half.
test.serial('the event loop keeps at least half its idle pace during a null-engine run (both measured here, one after the other)', async (t) => {
  const idle = await tickRate(() => new Promise((r) => setTimeout(r, 2000)));
  const run = await tickRate(() => runBlock({ file: join(tmp.dir, 'loop.dat'), engine: 'null', size: '1M', duration: '2200ms', warmup: '0ns' }));
  t.log(`idle: ${idle.ticks} ticks in ${idle.ms.toFixed(0)} ms (${idle.rate.toFixed(1)}/s); during the run: ${run.ticks} in ${run.ms.toFixed(0)} ms (${run.rate.toFixed(1)}/s)`);
  t.true(idle.ticks >= 10, `the reference itself: ${idle.ticks} ticks of a 50 ms timer in ${idle.ms.toFixed(0)} ms`);
  t.true(run.rate >= 0.5 * idle.rate, `during the run ${run.rate.toFixed(1)} ticks/s, idle ${idle.rate.toFixed(1)}/s`);
});

// A thread that spins on the clock for `ms` and reports the longest gap between two of its reads:
// the longest this machine kept a busy thread off its CPU in that window.
const SPIN = `
const { parentPort, workerData } = require('node:worker_threads');
const end = performance.now() + workerData;
let prev = performance.now(), gap = 0;
for (let now = prev; now < end; now = performance.now()) { if (now - prev > gap) gap = now - prev; prev = now; }
parentPort.postMessage(gap);
`;
function busyThreadStall(ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const w = new Worker(SPIN, { eval: true, workerData: ms });
    w.once('message', (gap: number) => resolve(gap * 1e6));
    w.once('error', reject);
  });
}

// An interval closes at the first completion after its second is up (native/core/block_job.cc);
// the null engine completes every ~100 ns, so an interval runs past its second only by as long as
// the measuring thread was kept off its CPU right then. The reference is the same quantity for
// another busy thread over the same 2.5 s: twice its worst stall, plus 1 ms for two threads' luck.
test.serial('a per-second interval runs past its second no longer than a busy thread is stalled meanwhile', async (t) => {
  const [r, stallNs] = await Promise.all([
    runBlock({ file: join(tmp.dir, 'series.dat'), engine: 'null', size: '1M', duration: '2500ms', warmup: '0ns' }),
    busyThreadStall(2600),
  ]);
  const closed = r.series.slice(0, -1);
  const bound = 2 * stallNs + 1e6;
  t.log(`intervals ${r.series.map((p) => (p.dur_ns / 1e6).toFixed(3)).join(', ')} ms; a busy thread's worst stall ${(stallNs / 1e6).toFixed(3)} ms; bound ${(bound / 1e6).toFixed(3)} ms past the second`);
  t.true(closed.length >= 1, `a 2.5 s run closes its first second: ${r.series.length} points`);
  for (const p of closed) t.true(p.dur_ns - 1e9 <= bound, `an interval of ${p.dur_ns} ns: ${((p.dur_ns - 1e9) / 1e6).toFixed(3)} ms past its second`);
  // With both closed seconds that close, the rest of the 2.5 s (over 100 ms) is a point of its own.
  if (closed.reduce((n, p) => n + p.dur_ns, 0) < 2.4e9) t.is(r.series.length, 3);
});

// A cancel sets a flag the measuring thread reads at its next completion; then the run ends as any
// run ends: the thread returns, the reporter's 20 ms nap runs out, the threads are joined and the
// result goes back to the event loop. A run of one operation goes the same way after its set-up,
// so it bounds a cancel's path from above: twice its median, plus 20 ms for one more late nap.
test.serial('a cancel ends a run about as soon as a run of one operation ends by itself', async (t) => {
  const file = join(tmp.dir, 'cancel.dat');
  const whole: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await runBlock({ file, engine: 'null', size: '1M', ops: 1, warmup: '0ns' });
    whole.push(performance.now() - t0);
  }
  const reference = median(whole);
  const ac = new AbortController();
  const running = runBlock({ file, engine: 'null', size: '1M', duration: '60s', warmup: '0ns' }, { signal: ac.signal });
  await new Promise((r) => setTimeout(r, 500));
  const t0 = performance.now();
  ac.abort();
  const e = await t.throwsAsync(running);
  const took = performance.now() - t0;
  t.log(`a one-operation run: ${whole.map((x) => x.toFixed(1)).join(', ')} ms; from abort() to the rejection: ${took.toFixed(1)} ms`);
  t.is((e as { code?: string }).code, 'ECANCELED');
  t.true(took <= 2 * reference + 20, `${took.toFixed(1)} ms after abort(), against a one-operation run's ${reference.toFixed(1)} ms`);
});

// A null operation is two clock reads with nothing between; a page-cache read adds a system call
// and a copy between the same two reads. Medians of 20,000 each, so a stall here or there moves neither.
test.serial('the null engine\'s median is below that of a read served from the page cache, both measured here', async (t) => {
  const file = join(tmp.dir, 'cached.dat');
  const cached = await runBlock({ file, engine: 'psync', pattern: 'randread', size: '1M', ops: 20_000, warmup: '0ns', invalidate: false });
  const nul = await runBlock({ file, engine: 'null', size: '1M', ops: 20_000, warmup: '0ns' });
  const [n, c] = [nul.latency_ns.percentiles['50']!, cached.latency_ns.percentiles['50']!];
  t.log(`p50: null ${n} ns, page-cache read ${c} ns`);
  t.true(cached.page_cache.resident_bytes_after > 0, 'the reads were served from the page cache');
  t.true(n < c, `null p50 ${n} ns, page-cache read p50 ${c} ns`);
});
