// `isoprobe ab --run` measured in pairs: A and B in short alternating blocks (ABBA) inside one
// session per side, screened for disturbance, until every cell can find a change of --precision
// or --budget is spent; then the paired gate's verdict (inconclusive cells exit 125).
import { optionError } from '../errors';
import { suiteOrFio } from '../formats/fio-job';
import { pairedGate } from '../compare/paired-gate';
import { pairedRun } from '../compare/paired-run';
import type { GateOutcome } from '../compare/gate';
import type { Metric, ThresholdClass } from '../compare/metrics';
import type { Store } from '../store/db';
import { shieldFromOption } from '../system/shield';
import { parseVariant } from '../targets/variant';
import type { Table } from './args';
import type { Reporter } from './reporter';
import { type SessionSpec, sessionSpecFrom } from './session-options';
import { sweepFirst } from './sweep-first';

/** The options of the paired path (ab's table includes them). */
export const PAIRED_OPTIONS = {
  precision: { kind: 'percent', default: 0.05, help: 'with --run: the smallest change every cell must be able to find before "no regression" (else inconclusive), e.g. 5%', defaultText: 'the --threshold' },
  budget: { kind: 'duration', default: 600e9, min: 1e9, help: 'with --run: measuring time allowed; cells still short of --precision then are inconclusive' },
  block: { kind: 'duration', default: 300e6, min: 10e6, help: 'with --run: one block\'s measured time (A and B alternate in blocks, ABBA)' },
  block_warmup: { kind: 'duration', default: 100e6, help: 'with --run: the warm-up before each block' },
  screen: { kind: 'bool', default: true, help: 'with --run: discard and measure again a pair whose block was disturbed (run delay, steal, CPU canary); --no-screen keeps every pair' },
  unpaired: { kind: 'bool', default: false, help: 'with --run: whole repetitions of the suite per side, tested unpaired (the gate before block pairs)' },
  where: { kind: 'bool', default: false, help: 'with --run (paired or --unpaired): trace block and RR workloads with eBPF; the layer times and counts per operation become cells of the gate (docs/attribution.md)' },
} satisfies Table;

/**
 * The session spec of both sides of `ab --run`, paired or unpaired: with --where each session
 * traces its block steps, as `compare --where` does, so the split and counts are cells.
 */
export function abSessionSpec(v: Parameters<typeof sessionSpecFrom>[0] & { where?: boolean }): SessionSpec {
  const spec = sessionSpecFrom(v);
  if (v.where) spec.attribution = true;
  return spec;
}

export interface PairedAbInput {
  baseline: string;
  candidate: string;
  suite?: string;
  alpha: number;
  threshold: number;
  classThresholds: Partial<Record<ThresholdClass, number>>;
  metrics?: Metric[];
  precision: number;
  budgetNs: number;
  blockNs: number;
  warmupNs: number;
  screen: boolean;
  seed: number;
}

export async function pairedAb(i: PairedAbInput, v: Parameters<typeof sessionSpecFrom>[0], store: Store, signal: AbortSignal, command: string, io: Reporter, progress: boolean): Promise<GateOutcome> {
  const [b, c] = [parseVariant(i.baseline, 'baseline'), parseVariant(i.candidate, 'candidate')];
  if (b.label === c.label) throw optionError('candidate', `--candidate "${c.label}": the same as the baseline; name two different targets or settings`);
  const suite = suiteOrFio(i.suite ?? 'quick', (n) => io.err(`note: ${n}`));
  await sweepFirst(io);
  const gate = { alpha: i.alpha, threshold: i.threshold, classThresholds: i.classThresholds, metrics: i.metrics, precision: i.precision, seed: i.seed };
  // The shield is up before the run's record is made (its system check records it) and down after.
  const shield = shieldFromOption(v.shield, (s) => io.err(`isoprobe: ${s}`));
  const run = await pairedRun({
    baseline: b, candidate: c, suite, blockNs: i.blockNs, warmupNs: i.warmupNs, gate, budgetMs: i.budgetNs / 1e6, screen: i.screen,
    spec: abSessionSpec(v), store, signal, command,
    onRound: progress ? ((r) => io.err(`round ${r.round + 1}: ${r.pairs} pairs kept, ${r.discarded} discarded as disturbed, ${Math.round(r.elapsedMs / 1000)} s; short of ${(i.precision * 100).toFixed(1)} %: ${r.open.join(', ') || 'none'}`.slice(0, 120))) : undefined,
  }).finally(() => shield?.restore());
  const g = pairedGate(run.pairs, { baseline: `${b.label} (run ${run.runId})`, candidate: `${c.label} (run ${run.runId})`, target: b.label, candidateTarget: c.label }, gate);
  g.discarded = run.discarded.length;
  for (const f of run.failures) g.notComparable.push(`${f.workload} on ${f.target}: failed: ${f.error}`);
  for (const w of suite.workloads) {
    const lost = run.discarded.filter((d) => d.workload === w.name);
    if (!run.pairs.some((p) => p.workload === w.name) && lost.length) g.notComparable.push(`${w.name}: no pair kept: all ${lost.length} were disturbed (the last: ${lost[lost.length - 1]!.why}); see isoprobe system check`);
  }
  g.method = `${g.method || 'paired max-T over ABBA block pairs'}; measured ${Math.round(run.elapsedMs / 1000)} s, stopped by ${run.stoppedBy === 'precision' ? `reaching ${(i.precision * 100).toFixed(1)} % in every cell` : run.stoppedBy === 'budget' ? 'the --budget' : 'the most pairs a cell takes'}`;
  return g;
}
