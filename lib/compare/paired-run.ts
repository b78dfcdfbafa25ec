// Measuring A against B in pairs of short blocks, ABBA, until the gate can decide: each round
// measures one pair per workload that still needs one (A then B, then B then A), screens each
// block for disturbance (a disturbed pair is measured again and counted), and after each round
// asks the paired gate which cells can already find a change of the precision asked for. It stops
// when every cell can, or when the budget of measuring time is spent (the cells left are then
// inconclusive, never "no regression").
import { systemCheck } from '../system/check';
import { IsoprobeError } from '../errors';
import { threadAllowedCpus } from '../cost/proc';
import { withLock } from '../probe/lock';
import { pairsNeeded } from '../stats/paired';
import type { Store } from '../store/db';
import { makeTarget } from '../targets';
import type { Session, SessionSpec, TargetResult, Workload } from '../targets/types';
import { checkTargetSpec, type Variant } from '../targets/variant';
import { type BlockPair, pairedGate, type PairedGateOptions } from './paired-gate';
import { type Disturbance, disturbedBy, Screener } from './screen';
import type { Suite, SuiteWorkload } from './suites';

export interface PairedRunOptions {
  baseline: Variant;
  candidate: Variant;
  suite: Suite;
  /** One block's measured time and warm-up, ns. */
  blockNs: number;
  warmupNs: number;
  gate: PairedGateOptions & { precision: number };
  /** Measuring time allowed, ms; pairs at least (default: the fewest the test can decide with) and at most. */
  budgetMs: number;
  minPairs?: number;
  maxPairs?: number;
  /** Screen blocks for disturbance (default on). */
  screen?: boolean;
  spec?: SessionSpec;
  store?: Store;
  command?: string;
  signal?: AbortSignal;
  /** After each round: pairs kept per workload, discarded so far, the cells still short of the precision. */
  onRound?: (r: { round: number; pairs: number; discarded: number; open: string[]; elapsedMs: number }) => void;
}

export interface PairedRun {
  runId?: number;
  pairs: BlockPair[];
  discarded: { workload: string; why: string }[];
  stoppedBy: 'precision' | 'budget' | 'max pairs';
  elapsedMs: number;
  failures: { workload: string; target: string; error: string }[];
}

/** The workload as one short block: the same workload (identity unchanged), a shorter window. */
function asBlock(w: Workload, blockNs: number, warmupNs: number): Workload {
  return { ...w, options: { ...w.options, duration: `${Math.round(blockNs)}ns`, warmup: `${Math.round(warmupNs)}ns` } } as Workload;
}

/** The cells that cannot yet find a change of the precision, as "workload metric". */
function openCells(pairs: BlockPair[], o: PairedRunOptions, minPairs: number): Set<string> {
  const open = new Set<string>();
  const counts = new Map<string, number>();
  for (const p of pairs) counts.set(p.workload, (counts.get(p.workload) ?? 0) + 1);
  for (const w of o.suite.workloads) if ((counts.get(w.name) ?? 0) < minPairs) open.add(w.name);
  if (open.size === o.suite.workloads.length) return open;
  const g = pairedGate(pairs.filter((p) => !open.has(p.workload)), { baseline: '', candidate: '', target: '', candidateTarget: '' }, { ...o.gate, maxPermutations: 2000 });
  for (const c of g.cells) if (!(c.detectable! <= o.gate.precision)) open.add(c.workload);
  return open;
}

export async function pairedRun(o: PairedRunOptions): Promise<PairedRun> {
  const minPairs = Math.max(o.minPairs ?? 0, pairsNeeded(o.gate.alpha));
  const maxPairs = o.maxPairs ?? 200;
  const labels = [o.baseline.label, o.candidate.label];
  for (const v of [o.baseline, o.candidate]) checkTargetSpec(v.target, { ...o.spec, ...v.spec }, `"${v.label}"`);  // before any session
  const runId = o.store?.startRun({ suite: o.suite.name, reps: 0, targets: labels, command: o.command ?? 'ab --run', system: o.store ? await systemCheck({ windowMs: 300 }) : undefined });
  const sessions: Session[] = [];
  const out: PairedRun = { runId, pairs: [], discarded: [], stoppedBy: 'budget', elapsedMs: 0, failures: [] };
  let status: 'complete' | 'incomplete' | 'failed' = 'failed';
  const t0 = Date.now();
  try {
    const needsNet = o.suite.workloads.some((w) => w.workload.kind !== 'block');
    for (const v of [o.baseline, o.candidate]) {
      const t = makeTarget(v.target);
      const a = await t.available();
      if (!a.ok) throw new IsoprobeError('EUNAVAILABLE', `target ${v.label} is not available here: ${a.reason}`);
      sessions.push(await t.start({ ...o.spec, ...v.spec, network: needsNet }));
    }
    const screener = o.screen === false ? undefined : new Screener(firstCpu());
    screener?.calibrate();
    const failed = new Set<string>();
    for (let round = 0; ; round++) {
      if (o.signal?.aborted) throw new IsoprobeError('ECANCELED', 'the comparison was interrupted');
      const open = openCells(out.pairs, o, minPairs);
      for (const f of failed) open.delete(f);
      if (!open.size) { out.stoppedBy = 'precision'; break; }
      if (Date.now() - t0 >= o.budgetMs) { out.stoppedBy = 'budget'; break; }
      const kept = (name: string) => out.pairs.filter((p) => p.workload === name).length;
      const todo = o.suite.workloads.filter((x) => open.has(x.name) && kept(x.name) < maxPairs);
      if (!todo.length) { out.stoppedBy = 'max pairs'; break; }
      for (const w of todo) {
        const got = await onePair(w, round % 2 === 0 ? 'AB' : 'BA', sessions, o, screener);
        if ('error' in got) {
          failed.add(w.name);
          out.failures.push({ workload: w.name, target: got.target, error: got.error });
          o.store?.addFailure(runId!, w.name, got.target, round, 'ERROR', got.error);
        } else if (got.why) {
          out.discarded.push({ workload: w.name, why: got.why });
          o.store?.addFailure(runId!, w.name, labels[0]!, round, 'EDISTURBED', `pair discarded as disturbed and measured again: ${got.why}`);
        } else {
          const index = kept(w.name);
          out.pairs.push(got.pair);
          o.store?.addResult(runId!, w.name, labels[0]!, index, got.pair.a as unknown as Record<string, unknown>);
          o.store?.addResult(runId!, w.name, labels[1]!, index, got.pair.b as unknown as Record<string, unknown>);
        }
      }
      o.onRound?.({ round, pairs: out.pairs.length, discarded: out.discarded.length, open: [...open], elapsedMs: Date.now() - t0 });
    }
    status = 'complete';
  } catch (e) {
    status = (e as IsoprobeError).code === 'ECANCELED' ? 'incomplete' : 'failed';
    throw e;
  } finally {
    for (const s of sessions) await s.stop().catch(() => undefined);
    if (runId !== undefined) o.store!.finishRun(runId, status);
    out.elapsedMs = Date.now() - t0;
  }
  return out;
}

/** One pair of one workload in the given order, screened: the pair, why it was discarded, or a failure. */
async function onePair(w: SuiteWorkload, order: 'AB' | 'BA', sessions: Session[], o: PairedRunOptions, screener?: Screener):
  Promise<{ pair: BlockPair; why?: string } | { error: string; target: string }> {
  const block = asBlock(w.workload, o.blockNs, o.warmupNs);
  const got: { r: TargetResult; d?: Disturbance }[] = [];
  const sides = order === 'AB' ? [0, 1] : [1, 0];
  // One pair measures at a time on this machine, as every isoprobe measurement does.
  return withLock('measure', { what: 'the machine (another isoprobe run is measuring)', signal: o.signal }, async () => {
    for (const side of sides) {
      const run = async () => (await sessions[side]!.runSuite([block], { signal: o.signal }))[0]!;
      const { value, disturbance } = screener ? await screener.around(run) : { value: await run(), disturbance: undefined };
      if (value instanceof Error) return { error: value.message, target: side === 0 ? o.baseline.label : o.candidate.label };
      got[side] = { r: value, d: disturbance };
    }
    const why = got.map((g, i) => {
      const by = g.d && disturbedBy(g.d);
      return by && `${i === 0 ? 'A' : 'B'}: ${by}`;
    }).filter(Boolean).join('; ');
    return { pair: { workload: w.name, a: got[0]!.r, b: got[1]!.r, order }, ...(why ? { why } : {}) };
  });
}

/** The first CPU this process may use: where the built-in suites' pinned blocks measure (cpus auto). */
function firstCpu(): number {
  return threadAllowedCpus(process.pid, process.pid)?.[0] ?? 0;
}
