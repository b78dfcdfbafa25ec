// npm run bench:detect-power - how often `ab --run` finds a planted change of known size, paired
// (block pairs, the default) against unpaired (--unpaired, whole repetitions), AT EQUAL MACHINE
// TIME: each trial runs the unpaired gate first (its wall time W), then the paired one with
// --budget W (always in that order: the paired run's budget is the unpaired one's measured time).
// The planted changes, set by this bench, not measured by isoprobe, each X a share of the baseline's
// p50 measured just before: RR - the echo server spends X before every reply (variant setting
// service=X); block - A and B read two loop devices, each on the file of a FUSE file system of
// scripts/fuse-delay.py (bench/block-plant.ts), B's busy-waiting X in every read, A's answering at
// once (variant setting data_file= names each side's device; runc adds storage=device, its own
// loop device on it). Each row prints what its plant came to: the gate's estimate, and for block
// the wait per read B's server timed. Change 0 is the A/A: every regression it reports is a false
// one. Env: DETECT_TRIALS (3), DETECT_TARGETS (host,runc), DETECT_CHANGES (0,0.05,0.1),
// DETECT_WORKLOADS (rr,block), DETECT_REPS (5: the unpaired reps a side, which sets the machine
// time), DETECT_SHIELD (auto: both with --shield auto), DETECT_PLANT_CHECK (1: only check the block
// plant, see plantCheck). Writes bench/results/.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { QUICK } from '../lib/compare/suites';
import { OWNER } from '../lib/owner';
import { packageRoot } from '../lib/paths';
import { DEFAULT_DATA_SIZE } from '../lib/targets/session';
import { type BlockPlant, makePlant, sweepPlants } from './block-plant';
import { interleave, median, run, saveResults } from './common';

const TRIALS = Number(process.env.DETECT_TRIALS || 3);
const TARGETS = (process.env.DETECT_TARGETS || 'host,runc').split(',');
const CHANGES = (process.env.DETECT_CHANGES || '0,0.05,0.1').split(',').map(Number);
const WORKLOADS = (process.env.DETECT_WORKLOADS || 'rr,block').split(',');
const REPS = Number(process.env.DETECT_REPS || 5);
/** DETECT_SHIELD=auto: both methods run with --shield auto (other tasks and IRQs off the measuring CPU). */
const SHIELD = process.env.DETECT_SHIELD ? ['--shield', process.env.DETECT_SHIELD] : [];
const CLI = join(packageRoot(), 'bin', 'isoprobe.js');
const work = mkdtempSync(join(tmpdir(), `isoprobe-bench-${OWNER}-`));
let plant: BlockPlant | undefined;
process.on('exit', () => {
  plant?.remove();  // before the folder: its mounts are in it
  rmSync(work, { recursive: true, force: true });
});
// Ctrl-C (the isoprobe children get it too, and clean up after themselves) and kill: the same way out.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

/** The quick suite's workload of that kind, alone in a suite file. */
function suiteFile(kind: 'rr' | 'block'): string {
  const w = QUICK.workloads.find((x) => (kind === 'rr' ? x.name === 'tcp-rr-64' : x.name === 'randread-4k-qd1'))!;
  const f = join(work, `${kind}.json`);
  writeFileSync(f, JSON.stringify({ name: `detect-${kind}`, workloads: [{ name: w.name, kind: w.workload.kind, options: w.workload.options, ...('placement' in w.workload ? { placement: w.workload.placement } : {}) }] }));
  return f;
}

/** One `isoprobe run` on the target (a variant): its p50 (ns) and the operations it made, warm-up included. */
async function measure(target: string, kind: 'rr' | 'block', duration: string): Promise<{ p50: number; ops: number }> {
  const args = kind === 'rr' ? ['run', '--target', target, 'net', 'rr', '--size', '64', '--duration', duration, '--json'] : ['run', '--target', target, 'block', '--pattern', 'randread', '--bs', '4k', '--direct', '--engine', 'psync', '--cpus', 'auto', '--duration', duration, '--json'];
  const r = await run(process.execPath, [CLI, ...args], 120_000);
  if (r.code !== 0) throw new Error(`isoprobe ${args.join(' ')}: ${r.stderr.trim()}`);
  const j = JSON.parse(r.stdout) as { ops?: number; warmup?: { ops: number }; latency_ns: { percentiles: Record<string, number> } };
  return { p50: j.latency_ns.percentiles['50']!, ops: (j.ops ?? 0) + (j.warmup?.ops ?? 0) };
}

/** The baseline's p50 (ns) the planted change is sized from: 2 s on the target. */
async function baseline(target: string, kind: 'rr' | 'block'): Promise<number> {
  return (await measure(target, kind, '2s')).p50;
}

/** A side of the block plant as a variant: the host reads the loop device; a container gets its own loop device on it. */
function plantSide(target: string, loop: string): string {
  return target === 'host' ? `host[data_file=${loop}]` : `${target}[data_file=${loop},storage=device]`;
}

interface Trial {
  method: 'paired' | 'unpaired';
  code: number | null;
  wallS: number;
  verdict?: string;
  /** Paired: block pairs kept and discarded as disturbed; every cell's estimate and verdict. */
  pairs?: number;
  discarded?: number;
  cells?: { metric: string; estimate: number; verdict: string; detectable?: number }[];
}

async function ab(method: 'paired' | 'unpaired', a: string, b: string, suite: string, budgetS: number): Promise<Trial> {
  const args = [CLI, 'ab', '--run', '--baseline', a, '--candidate', b, '--suite', suite, '--json', '--db', join(work, 'runs.db'),
    ...(method === 'unpaired' ? ['--unpaired', '--reps', String(REPS)] : ['--budget', `${Math.max(1, Math.round(budgetS))}s`]), ...SHIELD];
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  const t: Trial = { method, code, wallS: (Date.now() - t0) / 1000 };
  try {
    const j = JSON.parse(out) as { verdict?: string; pairs?: number; discarded?: number; cells?: { metric: string; change: { estimate: number }; verdict: string; detectable?: number }[] };
    Object.assign(t, { verdict: j.verdict, pairs: j.pairs, discarded: j.discarded, cells: j.cells?.map((c) => ({ metric: c.metric, estimate: c.change.estimate, verdict: c.verdict, detectable: c.detectable })) });
  } catch {
    t.verdict = `no JSON (${err.trim().split('\n').pop()})`;
  }
  return t;
}

/** The two sides of a cell and its plant: RR the echo server's service time; block B's FUSE server's wait (A/A: 0 under another label). */
function sides(target: string, kind: 'rr' | 'block', x: number): { a: string; b: string } {
  if (kind === 'rr') return { a: target, b: `${target}[service=${Math.round(x)}ns]` };
  plant!.set(x);
  return { a: plantSide(target, plant!.a.loop), b: plantSide(target, plant!.b.loop) };
}

/** One cell's line: what was planted, what it came to, and how often each method flagged it. */
function cellLine(target: string, kind: 'rr' | 'block', change: number, base: number, trials: Trial[], waited?: { reads: number; slept: number; p50: number }): string {
  const cell = (m: Trial['method']) => {
    const ts = trials.filter((x) => x.method === m);
    const flagged = ts.filter((x) => x.code === 1).length;
    const kept = m === 'paired' ? `; pairs kept ${ts.map((x) => x.pairs ?? 0).join(',')}, discarded ${ts.map((x) => x.discarded ?? 0).join(',')}` : '';
    return `${flagged}/${ts.length} (${(ts.reduce((s, x) => s + x.wallS, 0) / ts.length).toFixed(0)} s; exits ${ts.map((x) => x.code).join(',')}${kept})`;
  };
  const planted = change === 0 ? 'A/A' : `+${change * 100} % (${Math.round(change * base)} ns on a p50 of ${Math.round(base)} ns)`;
  // What the planted change came to, as the unpaired gate estimated it (its intervals are the
  // wider): the bench's check on its own plant; for block also the wait B's server timed per read.
  const est = trials.flatMap((x) => x.cells?.filter((c) => c.metric === 'p50').map((c) => c.estimate) ?? []).sort((x, y) => x - y);
  const server = waited ? `, B's server waited ${waited.p50} ns a read (median of ${waited.reads}; mean ${waited.reads ? Math.round(waited.slept / waited.reads) : 0})` : '';
  return `${target} | ${kind} | ${planted}; came to ${est.length ? `p50 x${est[est.length >> 1]!.toFixed(2)}` : '-'}${server} | ${cell('unpaired')} | ${cell('paired')}`;
}

/**
 * DETECT_PLANT_CHECK=1: the block plant checked instead of the detection runs: per change, 1 s
 * runs of A and B (`isoprobe run`) in 6 ABBA-ordered pairs, the median of B's p50 minus A's against
 * the wait B's server timed per read (median and mean), and each server's reads against the
 * operations the probe made (a loop device splitting or merging requests, or a cache answering
 * some, would show there).
 */
async function plantCheck(target: string): Promise<void> {
  const base = await baseline(sides(target, 'block', 0).a, 'block');
  console.log(`${target}: baseline p50 ${Math.round(base)} ns; loop devices ${plant!.a.loop} and ${plant!.b.loop}, direct I/O ${[plant!.a.loop, plant!.b.loop].map((d) => readFileSync(`/sys/block/${d.slice(5)}/loop/dio`, 'utf8').trim()).join(', ')}`);
  for (const change of CHANGES) {
    const { a, b } = sides(target, 'block', change * base);
    await plant!.a.fuse.stats();
    await plant!.b.fuse.stats();
    const one = { a: () => measure(a, 'block', '1s'), b: () => measure(b, 'block', '1s') };
    const pairs = await interleave(6, one.a, one.b);
    const [sa, sb] = [await plant!.a.fuse.stats(), await plant!.b.fuse.stats()];
    const ops = (xs: { ops: number }[]) => xs.reduce((s, x) => s + x.ops, 0);
    const diff = median(pairs.a.map((x, i) => pairs.b[i]!.p50 - x.p50));
    console.log(`+${change * 100} % (${Math.round(change * base)} ns): p50 A ${Math.round(median(pairs.a.map((x) => x.p50)))} ns, B ${Math.round(median(pairs.b.map((x) => x.p50)))} ns, B - A ${Math.round(diff)} ns (median of 6 pairs);`
      + ` B's server waited ${sb.p50} ns a read (median; mean ${Math.round(sb.reads ? sb.slept / sb.reads : 0)}); server reads for ops: A ${sa.reads} for ${ops(pairs.a)}, B ${sb.reads} for ${ops(pairs.b)}`);
  }
}

async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  if (WORKLOADS.includes('block') || process.env.DETECT_PLANT_CHECK) {
    const swept = sweepPlants();
    if (swept.length) console.log(`removed what a killed bench's block plant left: ${swept.join(', ')}`);
    plant = await makePlant(join(work, 'plant'), DEFAULT_DATA_SIZE);
  }
  if (process.env.DETECT_PLANT_CHECK) {
    for (const target of TARGETS) await plantCheck(target);
    return;
  }
  console.log(`detection at equal machine time: ${TRIALS} trials per cell, unpaired --reps ${REPS}, paired --budget = the unpaired run's wall time${SHIELD.length ? `, both ${SHIELD.join(' ')}` : ''}`);
  console.log('target | workload | planted | unpaired: flagged (s/trial) | paired: flagged (s/trial)');
  for (const target of TARGETS) {
    for (const kind of WORKLOADS as ('rr' | 'block')[]) {
      const suite = suiteFile(kind);
      const base = await baseline(sides(target, kind, 0).a, kind);
      for (const change of CHANGES) {
        const { a, b } = sides(target, kind, change * base);
        if (kind === 'block') await plant!.b.fuse.stats();  // from here B's server counts this cell's reads only
        const trials: Trial[] = [];
        for (let i = 0; i < TRIALS; i++) {
          const u = await ab('unpaired', a, b, suite, 0);
          const p = await ab('paired', a, b, suite, u.wallS);
          trials.push(u, p);
          rows.push({ target, kind, change, trial: i, base, unpaired: u, paired: p });
        }
        const waited = kind === 'block' ? await plant!.b.fuse.stats() : undefined;
        if (waited) rows.push({ target, kind, change, server: waited });
        console.log(cellLine(target, kind, change, base, trials, waited));
      }
    }
  }
  console.log(`saved ${saveResults('detect-power', { trials: TRIALS, reps: REPS, rows })}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
}).finally(() => plant?.remove());  // its servers end: nothing keeps the bench alive
