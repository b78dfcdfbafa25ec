// npm run bench:detect-power - how often `ab --run` finds a planted change of known size, paired
// (block pairs, the default) against unpaired (--unpaired, whole repetitions), AT EQUAL MACHINE
// TIME: each trial runs the unpaired gate first (its wall time W), then the paired one with
// --budget W (always in that order: the paired run's budget is the unpaired one's measured time).
// The planted changes, set by this bench, not measured by isoprobe: RR - the echo server spends X
// before every reply (variant setting service=X, X a share of the baseline's p50 measured just
// before); block - the candidate's container is capped by a cgroup v1 blkio throttle
// (blkio.throttle.read_iops_device) at the baseline's IOPS/(1+change) (runc only: the host's A and
// B share one blkio cgroup; and on QD1 reads the cap slows far more than its size: each row
// prints what its plant came to). Change 0 is the A/A: every regression it
// reports is a false one. Env: DETECT_TRIALS (3), DETECT_TARGETS (host,runc), DETECT_CHANGES
// (0,0.05,0.1), DETECT_WORKLOADS (rr,block), DETECT_REPS (5: the unpaired reps a side, which sets
// the machine time), DETECT_SHIELD (auto: both with --shield auto). Writes bench/results/.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { QUICK } from '../lib/compare/suites';
import { OWNER } from '../lib/owner';
import { packageRoot } from '../lib/paths';
import { defaultDataFile } from '../lib/targets/session';
import { run, saveResults } from './common';

const TRIALS = Number(process.env.DETECT_TRIALS || 3);
const TARGETS = (process.env.DETECT_TARGETS || 'host,runc').split(',');
const CHANGES = (process.env.DETECT_CHANGES || '0,0.05,0.1').split(',').map(Number);
const WORKLOADS = (process.env.DETECT_WORKLOADS || 'rr,block').split(',');
const REPS = Number(process.env.DETECT_REPS || 5);
/** DETECT_SHIELD=auto: both methods run with --shield auto (other tasks and IRQs off the measuring CPU). */
const SHIELD = process.env.DETECT_SHIELD ? ['--shield', process.env.DETECT_SHIELD] : [];
const CLI = join(packageRoot(), 'bin', 'isoprobe.js');
const work = mkdtempSync(join(tmpdir(), `isoprobe-bench-${OWNER}-`));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

/** The quick suite's workload of that kind, alone in a suite file. */
function suiteFile(kind: 'rr' | 'block'): string {
  const w = QUICK.workloads.find((x) => (kind === 'rr' ? x.name === 'tcp-rr-64' : x.name === 'randread-4k-qd1'))!;
  const f = join(work, `${kind}.json`);
  writeFileSync(f, JSON.stringify({ name: `detect-${kind}`, workloads: [{ name: w.name, kind: w.workload.kind, options: w.workload.options, ...('placement' in w.workload ? { placement: w.workload.placement } : {}) }] }));
  return f;
}

/** The baseline's figure the planted change is sized from: RR p50 (ns), block IOPS; 2 s on the target. */
async function baseline(target: string, kind: 'rr' | 'block'): Promise<number> {
  const args = kind === 'rr' ? ['run', '--target', target, 'net', 'rr', '--size', '64', '--duration', '2s', '--json'] : ['run', '--target', target, 'block', '--pattern', 'randread', '--bs', '4k', '--direct', '--engine', 'psync', '--cpus', 'auto', '--duration', '2s', '--json'];
  const r = await run(process.execPath, [CLI, ...args], 120_000);
  if (r.code !== 0) throw new Error(`isoprobe ${args.join(' ')}: ${r.stderr.trim()}`);
  const j = JSON.parse(r.stdout) as { iops?: number; latency_ns: { percentiles: Record<string, number> } };
  return kind === 'rr' ? j.latency_ns.percentiles['50']! : j.iops!;
}

/** The whole disk under the data file (a throttle rule names a disk, not a partition), as MAJ:MIN. */
function dataDisk(): string {
  const dev = statSync(defaultDataFile()).dev;
  let majmin = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((Math.floor(dev / 2 ** 20) & 0xfff) << 8)}`;
  const sys = `/sys/dev/block/${majmin}`;
  if (existsSync(join(sys, 'partition'))) majmin = readFileSync(join(sys, '..', 'dev'), 'utf8').trim();
  return majmin;
}

/**
 * While `ab` runs: the candidate's container gets the blkio throttle. Both commands start the
 * baseline's session first, and each runtime's availability check makes a short-lived container
 * of the same naming: whenever exactly two of its containers live, the newer one (the larger
 * serial) is the candidate's, or a check's that is about to go (the rule then moves on). Returns a stopper.
 */
function throttleCandidate(childPid: number, iops: number): () => string | undefined {
  const mark = `iso-runc-${childPid.toString(36)}-`;
  const root = '/sys/fs/cgroup/blkio';
  let set: string | undefined;
  const serial = (n: string) => parseInt(n.slice(mark.length), 36);
  const timer = setInterval(() => {
    const live = readdirSync(root).filter((x) => x.startsWith(mark));
    if (live.length !== 2) return;
    const newer = live.sort((a, b) => serial(a) - serial(b))[1]!;
    if (join(root, newer) === set) return;
    set = join(root, newer);
    try {
      writeFileSync(join(set, 'blkio.throttle.read_iops_device'), `${dataDisk()} ${Math.round(iops)}`);
    } catch (e) {
      set = `failed: ${(e as Error).message}`;
    }
  }, 20);
  return () => {
    clearInterval(timer);
    return set;
  };
}

interface Trial {
  method: 'paired' | 'unpaired';
  code: number | null;
  wallS: number;
  verdict?: string;
  note?: string;
  /** Paired: block pairs kept and discarded as disturbed; every cell's estimate and verdict. */
  pairs?: number;
  discarded?: number;
  cells?: { metric: string; estimate: number; verdict: string; detectable?: number }[];
}

async function ab(method: 'paired' | 'unpaired', a: string, b: string, suite: string, budgetS: number, throttle?: number): Promise<Trial> {
  const args = [CLI, 'ab', '--run', '--baseline', a, '--candidate', b, '--suite', suite, '--json', '--db', join(work, 'runs.db'),
    ...(method === 'unpaired' ? ['--unpaired', '--reps', String(REPS)] : ['--budget', `${Math.max(1, Math.round(budgetS))}s`]), ...SHIELD];
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stop = throttle ? throttleCandidate(child.pid!, throttle) : undefined;
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const code = await new Promise<number | null>((res) => child.on('close', res));
  const throttled = stop?.();
  const t: Trial = { method, code, wallS: (Date.now() - t0) / 1000, note: throttle ? `throttle ${throttled ?? 'never set'}` : undefined };
  try {
    const j = JSON.parse(out) as { verdict?: string; pairs?: number; discarded?: number; cells?: { metric: string; change: { estimate: number }; verdict: string; detectable?: number }[] };
    Object.assign(t, { verdict: j.verdict, pairs: j.pairs, discarded: j.discarded, cells: j.cells?.map((c) => ({ metric: c.metric, estimate: c.change.estimate, verdict: c.verdict, detectable: c.detectable })) });
  } catch {
    t.verdict = `no JSON (${err.trim().split('\n').pop()})`;
  }
  return t;
}

async function main(): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  console.log(`detection at equal machine time: ${TRIALS} trials per cell, unpaired --reps ${REPS}, paired --budget = the unpaired run's wall time${SHIELD.length ? `, both ${SHIELD.join(' ')}` : ''}`);
  console.log('target | workload | planted | unpaired: flagged (s/trial) | paired: flagged (s/trial)');
  for (const target of TARGETS) {
    for (const kind of WORKLOADS as ('rr' | 'block')[]) {
      if (kind === 'block' && target !== 'runc') {
        console.log(`${target} | block | - | skipped: the throttle needs the candidate in a blkio cgroup of its own (a container's)`);
        continue;
      }
      const suite = suiteFile(kind);
      const base = await baseline(kind === 'block' ? 'runc' : target, kind);
      for (const change of CHANGES) {
        // The candidate's label differs even for the A/A (service 0, or no throttle): the same setup under another name.
        const b = kind === 'rr' ? `${target}[service=${Math.round(change * base)}ns]` : `${target}[seccomp=default]`;
        const throttle = kind === 'block' && change > 0 ? base / (1 + change) : undefined;
        const trials: Trial[] = [];
        for (let i = 0; i < TRIALS; i++) {
          const u = await ab('unpaired', target, b, suite, 0, throttle);
          const p = await ab('paired', target, b, suite, u.wallS, throttle);
          trials.push(u, p);
          rows.push({ target, kind, change, trial: i, base, unpaired: u, paired: p });
        }
        const cell = (m: Trial['method']) => {
          const ts = trials.filter((x) => x.method === m);
          const flagged = ts.filter((x) => x.code === 1).length;
          const kept = m === 'paired' ? `; pairs kept ${ts.map((x) => x.pairs ?? 0).join(',')}, discarded ${ts.map((x) => x.discarded ?? 0).join(',')}` : '';
          return `${flagged}/${ts.length} (${(ts.reduce((s, x) => s + x.wallS, 0) / ts.length).toFixed(0)} s; exits ${ts.map((x) => x.code).join(',')}${kept})`;
        };
        const planted = change === 0 ? 'A/A' : kind === 'rr' ? `+${change * 100} % (${Math.round(change * base)} ns on a p50 of ${Math.round(base)} ns)` : `-${change * 100} % IOPS cap (${Math.round(throttle!)} of ${Math.round(base)})`;
        // What the planted change came to, as the unpaired gate estimated it (its intervals are the wider): the bench's check on its own plant.
        const metric = kind === 'rr' ? 'p50' : 'iops';
        const est = trials.flatMap((x) => x.cells?.filter((c) => c.metric === metric).map((c) => c.estimate) ?? []).sort((x, y) => x - y);
        const realized = est.length ? `${metric} x${est[est.length >> 1]!.toFixed(2)}` : '-';
        console.log(`${target} | ${kind} | ${planted}; came to ${realized} | ${cell('unpaired')} | ${cell('paired')}`);
      }
    }
  }
  console.log(`saved ${saveResults('detect-power', { trials: TRIALS, reps: REPS, rows })}`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
