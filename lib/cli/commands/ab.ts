// isoprobe ab: the suite-wide A/B gate, from stored runs, exported files, fleet nodes, or measured now.
import { writeFileSync } from 'node:fs';

import { loadSide, type Metric, METRICS, type Side } from '../../compare/ab';
import { compare } from '../../compare/compare';
import { gateExitCode, type GateOutcome, suiteGate } from '../../compare/gate';
import { CLASS_THRESHOLDS, gatedText, metricDefs, type ThresholdClass } from '../../compare/metrics';
import { optionError } from '../../errors';
import { nodeSide } from '../../fleet/stored';
import { suiteOrFio } from '../../formats/fio-job';
import { formatGate, gateJUnit, gateMarkdown } from '../../report/gate-text';
import { underpowered } from '../../stats/maxt';
import type { Store } from '../../store/db';
import { shieldFromOption } from '../../system/shield';
import { parseVariant } from '../../targets/variant';
import { abSessionSpec, pairedAb, PAIRED_OPTIONS } from '../ab-paired';
import { parseCommand, type Table, type Values } from '../args';
import { codeOf, list, messageOf, parseMetrics } from '../common';
import { progressReporter } from '../progress';
import type { Reporter } from '../reporter';
import { SESSION_OPTIONS } from '../session-options';
import { SHIELD_OPTION } from '../shield-option';
import { DB, openStore } from '../store';
import { sweepFirst } from '../sweep-first';
import { COMPARE } from './compare';

const AB = {
  baseline: { kind: 'string', default: '', help: 'RUN number or exported JSON file; with --run, the baseline target or variant, e.g. qemu-microvm[kernel=6.1]' },
  candidate: { kind: 'string', default: '', help: 'RUN number or exported JSON file; with --run, the candidate target or variant' },
  metric: { kind: 'string', default: '', help: `only these metrics (comma-separated: ${METRICS.join(', ')})`, defaultText: gatedText() },
  workload: { kind: 'string', default: '', help: 'only these workloads (comma-separated)', defaultText: 'every workload on both sides' },
  target: { kind: 'string', default: '', help: 'only these targets (comma-separated labels)', defaultText: 'every target on both sides' },
  baseline_target: { kind: 'string', default: '', help: "compare this target of the baseline with --candidate-target of the candidate (two different targets)" },
  candidate_target: { kind: 'string', default: '', help: 'the candidate\'s target for --baseline-target', defaultText: "the baseline's" },
  threshold: { kind: 'percent', default: 0.05, help: 'noise threshold: a regression must also move the median this much, e.g. 5%' },
  cost_threshold: { kind: 'percent', default: CLASS_THRESHOLDS.cost ?? 0.1, help: `the noise threshold of the host-cost metrics (${metricDefs().filter((d) => d.thresholdClass === 'cost').map((d) => d.name).join(', ')}): host-side figures vary more than the probe's own` },
  count_threshold: { kind: 'percent', default: CLASS_THRESHOLDS.count ?? 0.05, help: `the noise threshold of the counts per operation (${metricDefs().filter((d) => d.thresholdClass === 'count').map((d) => d.name).join(', ')}): exact counts, far quieter than times` },
  alpha: { kind: 'probability', default: 0.01, help: 'family-wise level over all cells: of a false regression (the exit code), and separately of a false improvement' },
  baseline_node: { kind: 'string', default: '', help: 'the gate between nodes of a fleet run: the baseline node, several (a,b) or group:NAME' },
  candidate_node: { kind: 'string', default: '', help: 'the candidate node, several, or group:NAME (with --baseline-node)' },
  fleet: { kind: 'string', default: 'last', help: 'with --baseline-node: the fleet run, last or its id' },
  run: { kind: 'bool', default: false, help: 'measure both sides now in pairs of short blocks (ABBA, stored as one run) until --precision or --budget, then judge' },
  step_down: { kind: 'bool', default: false, help: 'verdicts by step-down max-T: more power where several cells moved; the printed intervals stay single-step' },
  suite: COMPARE.suite,
  reps: { kind: 'uint', default: 10, min: 3, help: 'with --run --unpaired: repetitions per side' },
  ...PAIRED_OPTIONS,
  junit: { kind: 'string', default: '', help: 'also write JUnit XML: one testcase per cell, a regression is a failure' },
  markdown: { kind: 'string', default: '', help: 'also write a Markdown summary (for a CI job summary)' },
  seed: { kind: 'uint', default: 1, help: 'seed of the permutations and bootstrap intervals' },
  ...DB,
  json: COMPARE.json,
  ...SESSION_OPTIONS,
  ...SHIELD_OPTION,
} satisfies Table;
type AbValues = Values<typeof AB>;
const AB_HEAD = ['usage: isoprobe ab --baseline RUN|FILE --candidate RUN|FILE [options]', '       isoprobe ab --run --baseline VARIANT --candidate VARIANT [--suite quick] [--reps 10]', '       isoprobe ab --baseline-node NODE|group:G --candidate-node NODE|group:G [--fleet last|ID]', '',
  'The A/B regression gate over a whole suite: every workload x target x metric on both sides is a cell, all',
  'tested together (max-T permutation test: a false regression over all cells at most alpha, a false improvement likewise)',
  'and judged against a noise threshold. Needs enough repetitions for alpha: 5 a side at 0.01 (1/C(10, 5) = 1/252).',
  'With --run, A and B are measured in pairs of short blocks (ABBA) and tested paired (sign flips of whole pairs), until',
  'every cell can find a change of --precision or --budget is spent; a cell that could not is INCONCLUSIVE, never a pass.',
  'Exit: 0 no regression, 1 a regression, 125 cannot tell: inconclusive, or nothing could be measured or compared',
  '(git bisect run: skip), 2 bad input.'];

/** --baseline-node A --candidate-node B: both sides from one fleet run, each node's own repetitions. */
function nodeSides(v: AbValues, store: Store): { b: Side; c: Side } {
  if (!v.baseline_node || !v.candidate_node) throw optionError(v.baseline_node ? 'candidate_node' : 'baseline_node', 'ab: --baseline-node and --candidate-node go together (two nodes or groups of a fleet run)');
  if (v.baseline || v.candidate || v.run) throw optionError('baseline_node', 'ab: --baseline-node/--candidate-node take both sides from a fleet run; not with --baseline, --candidate or --run');
  const fleet = v.fleet ?? 'last';
  return { b: nodeSide(store, fleet, v.baseline_node, 'baseline_node'), c: nodeSide(store, fleet, v.candidate_node, 'candidate_node') };
}

/** Measures both variants now (interleaved, one stored run) and returns the two sides. */
async function measureBoth(v: AbValues, argv: string[], store: Store, signal: AbortSignal, io: Reporter): Promise<{ b: Side; c: Side; pair: [string, string] }> {
  if (!v.baseline || !v.candidate) throw optionError('baseline', 'ab --run: give --baseline and --candidate, the two targets or variants to measure');
  const [b, c] = [parseVariant(v.baseline, 'baseline'), parseVariant(v.candidate, 'candidate')];
  if (b.label === c.label) throw optionError('candidate', `--candidate "${c.label}": the same as the baseline; name two different targets or settings`);
  // Refused before measuring: a gate that could never flag anything is no gate.
  const reps = v.reps ?? 10;
  const weak = underpowered(reps, reps, v.alpha ?? AB.alpha.default);
  if (weak) throw optionError('reps', `--reps ${reps}: ${weak}`);
  const suite = suiteOrFio(v.suite ?? 'quick', (n) => io.err(`note: ${n}`));
  await sweepFirst(io);
  const shield = shieldFromOption(v.shield, (s) => io.err(`isoprobe: ${s}`));
  const res = await compare({ targets: [b, c], suite, reps: v.reps ?? 10, spec: abSessionSpec(v), store, signal, command: `isoprobe ab ${argv.join(' ')}`,
    onProgress: v.json ? undefined : progressReporter(io.tty, io.progress) }).finally(() => shield?.restore());
  const side = loadSide(String(res.runId), () => store, 'baseline');
  return { b: { ...side, label: `${b.label} (run ${res.runId})` }, c: { ...side, label: `${c.label} (run ${res.runId})` }, pair: [b.label, c.label] };
}

export async function cmdAb(argv: string[], io: Reporter, signal: AbortSignal): Promise<number> {
  const p = parseCommand(argv, AB, 'ab', AB_HEAD, io.out);
  if (!p) return 0;
  const { values: v } = p;
  const threshold = v.threshold ?? AB.threshold.default;
  const costThreshold = v.cost_threshold ?? AB.cost_threshold.default;
  const countThreshold = v.count_threshold ?? AB.count_threshold.default;
  const alpha = v.alpha ?? AB.alpha.default;
  const metrics = parseMetrics(v.metric);
  let store: Store | undefined;
  const getStore = () => (store ??= openStore(v.db, io));
  try {
    if (v.where && !v.run) throw optionError('where', '--where goes with --run: it traces both sides while they are measured');
    if (v.shield !== undefined && !v.run) throw optionError('shield', `--shield ${v.shield}: goes with --run; it shields the CPUs while both sides are measured`);
    for (const k of ['precision', 'budget', 'block', 'block_warmup', 'screen', 'unpaired'] as const) {
      if ((!v.run || (v.unpaired && k !== 'unpaired')) && v[k] !== undefined) throw optionError(k, `--${k.replace('_', '-')} goes with --run${k === 'unpaired' ? '' : ' (paired, the default)'}: it sets how both sides are measured`);
    }
    if (v.run && !v.unpaired) return await cmdAbPaired(v, argv, io, signal, getStore(), { alpha, threshold, classThresholds: { cost: costThreshold, count: countThreshold }, metrics });
    let sides: { b: Side; c: Side; pair?: [string, string] };
    try {
      if (v.run) sides = await measureBoth(v, argv, getStore(), signal, io);
      else if (v.baseline_node || v.candidate_node) sides = nodeSides(v, getStore());
      else {
        if (!v.baseline) throw optionError('baseline', '--baseline: expected a run number or an exported JSON file');
        if (!v.candidate) throw optionError('candidate', '--candidate: expected a run number or an exported JSON file');
        sides = { b: loadSide(v.baseline, getStore, 'baseline'), c: loadSide(v.candidate, getStore, 'candidate') };
        if (v.baseline_target) sides.pair = [v.baseline_target, v.candidate_target || v.baseline_target];
      }
    } catch (e) {
      // Could not measure (a target unavailable, a run that failed): "cannot tell" for git bisect run.
      const code = codeOf(e);
      if (code === 'EINVALOPT' || code === 'ECANCELED') throw e;
      io.err(`isoprobe: ${messageOf(e)}`);
      return 125;
    }
    let g: ReturnType<typeof suiteGate>;
    try {
      g = suiteGate(sides.b, sides.c, { alpha, threshold, classThresholds: { cost: costThreshold, count: countThreshold }, metrics, workloads: list(v.workload), targets: list(v.target), pair: sides.pair, seed: v.seed ?? 1, stepDown: v.step_down === true });
    } catch (e) {
      // Too few repetitions to ever flag a change: "cannot tell" for git bisect run, with the reason.
      if (codeOf(e) !== 'EUNDERPOWERED') throw e;
      io.err(`isoprobe: ${messageOf(e)}`);
      return 125;
    }
    if (v.junit) writeFileSync(v.junit, gateJUnit(g));
    if (v.markdown) writeFileSync(v.markdown, gateMarkdown(g));
    const code = gateExitCode(g);
    io.out(v.json ? JSON.stringify({ verdict: verdictWord(code, g), ...g }, null, 2) : formatGate(g));
    return code;
  } finally {
    store?.close();
  }
}

/** ab --run, paired: measure in block pairs until the precision or the budget, judge, report. */
async function cmdAbPaired(v: AbValues, argv: string[], io: Reporter, signal: AbortSignal, store: Store,
  o: { alpha: number; threshold: number; classThresholds: Partial<Record<ThresholdClass, number>>; metrics?: Metric[] }): Promise<number> {
  if (!v.baseline || !v.candidate) throw optionError('baseline', 'ab --run: give --baseline and --candidate, the two targets or variants to measure');
  if (v.reps !== undefined) throw optionError('reps', `--reps ${v.reps}: with --run, A and B are measured in block pairs until --precision or --budget; --reps counts whole repetitions of --unpaired`);
  const precision = v.precision ?? o.threshold;
  let g: GateOutcome;
  try {
    g = await pairedAb({
      baseline: v.baseline, candidate: v.candidate, suite: v.suite, ...o, precision,
      budgetNs: v.budget ?? 600e9, blockNs: v.block ?? 300e6, warmupNs: v.block_warmup ?? 100e6,
      screen: v.screen !== false, seed: v.seed ?? 1,
    }, v, store, signal, `isoprobe ab ${argv.join(' ')}`, io, !v.json);
  } catch (e) {
    const code = codeOf(e);
    if (code === 'EINVALOPT' || code === 'ECANCELED') throw e;
    io.err(`isoprobe: ${messageOf(e)}`);
    return 125;
  }
  if (v.junit) writeFileSync(v.junit, gateJUnit(g));
  if (v.markdown) writeFileSync(v.markdown, gateMarkdown(g));
  const code = gateExitCode(g);
  io.out(v.json ? JSON.stringify({ verdict: verdictWord(code, g), ...g }, null, 2) : formatGate(g));
  return code;
}

/** The JSON's one-word verdict, as the exit code says it (git bisect run: 0 good, 1 bad, 125 skip). */
function verdictWord(code: number, g: GateOutcome): string {
  return code === 1 ? 'regression' : code === 125 ? (g.cells.length ? 'inconclusive' : 'nothing compared') : 'no regression';
}
