// CLI commands of the main job: compare, history, export, report, ab.
import { writeFileSync } from 'node:fs';

import { loadSide, type Metric, METRICS, type Side } from '../compare/ab';
import { CLASS_THRESHOLDS, gatedText, metricDefs, RESULT_METRICS, type ThresholdClass } from '../compare/metrics';
import { gateExitCode, type GateOutcome, suiteGate } from '../compare/gate';
import { abSessionSpec, pairedAb, PAIRED_OPTIONS } from './ab-paired';
import { underpowered } from '../stats/maxt';
import { formatGate, gateJUnit, gateMarkdown } from '../report/gate-text';
import { renderTrendHtml, trendSeries } from '../report/trend';
import { importRuns } from '../store/import';
import { byNode } from '../compare/by-node';
import { storedCells } from '../compare/stored-cells';
import { EXPORT_FORMATS, exportRun, isExportFormat } from '../formats/export';
import { fioSuite } from '../formats/fio-job';
import { fleetRuns, nodeSide } from '../fleet/stored';
import { renderNodeReport } from '../report/node-html';
import { formatNodeTables } from '../report/node-text';
import { parseVariant, parseVariantList, type Variant } from '../targets/variant';
import { compare, summarizeWorkloads, warningsFor, type Comparison } from '../compare/compare';
import { loadSuite, type Suite } from '../compare/suites';
import { IsoprobeError, optionError } from '../errors';
import { renderHtml } from '../report/html';
import { resultsCsv } from '../report/csv';
import { formatComparison, TABLE_COLUMNS } from '../report/compare-text';
import { whereSummary } from '../report/where-text';
import { defaultDbPath, machineFingerprint, Store } from '../store/db';
import { parseCommand, type Table } from './args';
import { SESSION_OPTIONS, sessionSpecFrom } from './session-options';
import { SHIELD_OPTION } from './shield-option';
import { shieldFromOption } from '../system/shield';
import { sweepFirst } from './sweep-first';

type Out = (s: string) => void;

export const DB: Table = { db: { kind: 'string', default: '', help: 'results database', defaultText: defaultDbPath() } };

/** Opens the results database; says on stderr which runs it found left running by a killed isoprobe. */
export function openStore(path: unknown): Store {
  const store = new Store((path as string) || defaultDbPath());
  for (const r of store.interrupted)
    process.stderr.write(`isoprobe: run ${r.id} in ${store.path} was left running by an isoprobe${r.pid ? ` (pid ${r.pid})` : ''} that has ended (killed?): marked interrupted; its ${r.results} finished result${r.results === 1 ? ' is' : 's are'} kept\n`);
  return store;
}

/** --targets: names, variants ("qemu-microvm[kernel=6.12]"), or @FILE. */
export function parseTargets(text: string): Variant[] {
  return parseVariantList(text, 'targets');
}

const COMPARE: Table = {
  targets: { kind: 'string', default: 'host,runc,runsc,qemu-microvm', help: 'comma-separated targets or variants (qemu-microvm[kernel=6.12,aio=threads]), or @FILE (YAML/JSON); the first is the baseline of the ratios' },
  suite: { kind: 'string', default: 'quick', help: 'quick, paper, scaling (jobs, queue depth, connections), a JSON/YAML suite file, or a fio job file (.fio)' },
  reps: { kind: 'uint', default: 5, min: 1, max: 1000, help: 'repetitions per target and workload' },
  ...DB,
  no_store: { kind: 'bool', default: false, help: 'do not record the run in the database' },
  html: { kind: 'string', default: '', help: 'also write the HTML report to this file' },
  json: { kind: 'bool', default: false, help: 'print the comparison as JSON' },
  wide: { kind: 'bool', default: false, help: `every column (p99.9) and intervals in full; the default table fits ${TABLE_COLUMNS} columns` },
  force: { kind: 'bool', default: false, help: 'compare even if the probe binaries measured in the targets differ' },
  seed: { kind: 'uint', default: 0, help: 'seed of the shuffled order (0: from the clock)' },
  where: { kind: 'bool', default: false, help: "trace block workloads with eBPF: each operation split into device, host kernel and boundary, with counts per operation (the host target so far; others say they were not traced; docs/attribution.md)" },
  ...SESSION_OPTIONS,
  ...SHIELD_OPTION,
};
const COMPARE_HEAD = ['usage: isoprobe compare [options]', '',
  'Runs the suite on every target, repetitions interleaved in a shuffled order, and compares.'];

/**
 * Progress of a comparison on stderr: a bar on a terminal; without one (CI logs) one line per
 * finished measurement, so a long run is never silent.
 */
export function progressReporter(tty: boolean, write: (s: string) => void = (s) => process.stderr.write(s)) {
  const t0 = Date.now();
  return (done: number, total: number, etaMs: number, what: string) => {
    const eta = Number.isFinite(etaMs) ? ` ~${Math.ceil(etaMs / 1000)} s left` : '';
    // `what` names what starts now; an empty one reports a finished measurement.
    if (!tty) {
      if (what && done < total) write(`measuring ${what}\n`);
      else if (!what) write(`[${done}/${total}] ${Math.round((Date.now() - t0) / 1000)} s${done < total ? eta : ''}\n`);
      return;
    }
    if (!what) return;
    const width = 30;
    const filled = Math.round((done / total) * width);
    write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${eta}  ${what}`);
    if (done === total) write('\r\x1b[K');
  };
}

/**
 * The table on a terminal while the run goes on: drawn after the first repetition and redrawn in
 * place after each one (the progress bar stays below it); erased before the final table.
 */
export function liveTable(stream: { write(s: string): boolean; columns?: number }) {
  let rows = 0;
  const erase = () => {
    if (rows) stream.write(`\r\x1b[K\x1b[${rows}A\x1b[J`);
    rows = 0;
  };
  return {
    draw(text: string): void {
      erase();
      stream.write(`${text}\n`);
      const cols = stream.columns || 80;
      rows = text.split('\n').reduce((n, l) => n + Math.max(1, Math.ceil([...l].length / cols)), 0);
    },
    erase,
  };
}

export function writeHtml(path: string, c: Comparison, env: Record<string, unknown>): void {
  writeFileSync(path, renderHtml(c, env, `isoprobe: ${c.targets.join(' vs ')}`), { mode: 0o644 });
}

export async function cmdCompare(argv: string[], out: Out, signal: AbortSignal): Promise<number> {
  const p = parseCommand(argv, COMPARE, 'compare', COMPARE_HEAD, out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const targets = parseTargets((v.targets as string | undefined) ?? (COMPARE.targets!.default as string));
  const spec0 = (v.suite as string | undefined) ?? 'quick';
  const fio = spec0.endsWith('.fio') ? fioSuite(spec0) : undefined;  // a fio job file's block jobs (lib/formats/fio-job.ts)
  for (const n of fio?.notes ?? []) process.stderr.write(`note: ${n}\n`);
  const suite: Suite = fio ? fio.suite : loadSuite(spec0);
  const store = v.no_store ? undefined : openStore(v.db);
  const spec = sessionSpecFrom(v);
  if (v.where) spec.attribution = true;  // as run --where: the session traces its block steps
  const wide = v.wide === true;
  await sweepFirst();
  const live = !v.json && process.stdout.isTTY === true ? liveTable(process.stdout) : undefined;
  const shield = shieldFromOption(v.shield);
  try {
    const c = await compare({
      targets, suite, reps: (v.reps as number | undefined) ?? 5, spec, store, force: v.force === true, signal,
      seed: (v.seed as number) || undefined, command: `isoprobe compare ${argv.join(' ')}`,
      onProgress: v.json ? undefined : progressReporter(process.stderr.isTTY === true),
      onRepetition: live && ((partial, done) => live.draw(formatComparison(partial, { wide, partial: { done, of: (v.reps as number | undefined) ?? 5 } }))),
    });
    live?.erase();
    out(v.json ? JSON.stringify({ ...c, cells: undefined }, null, 2) : formatComparison(c, { wide }));
    if (v.html) {
      writeHtml(v.html as string, c, { machine: machineFingerprint(), probe_env: c.cells.find((x) => x.results.length)?.results[0]?.env });
      if (!v.json) out(`report written to ${v.html}`);
    }
    return 0;
  } catch (e) {
    if ((e as IsoprobeError).code === 'ECANCELED' && store) {
      const last = store.runs(1)[0];
      process.stderr.write(`\ninterrupted: run ${last?.id} is kept in ${store.path}, marked incomplete, with ${last ? store.results(last.id).length : 0} results\n`);
    }
    throw e;
  } finally {
    shield?.restore();
    store?.close();
  }
}

export async function cmdHistory(argv: string[], out: Out): Promise<number> {
  const T: Table = { ...DB, json: COMPARE.json!, limit: { kind: 'uint', default: 50, min: 1, help: 'how many runs' } };
  const p = parseCommand(argv, T, 'history', ['usage: isoprobe history [options]', '', 'The stored runs, newest first.'], out);
  if (!p) return 0;
  const { values: v } = p;
  const store = openStore(v.db);
  try {
    const runs = store.runs((v.limit as number | undefined) ?? 50);
    if (v.json) out(JSON.stringify(runs, null, 2));
    else {
      if (!runs.length) out(`no runs in ${store.path}`);
      for (const r of runs) {
        const failed = store.failures(r.id).length;
        // A fleet's node runs are named by their inventory name and fleet: two nodes are two lines.
        const m = JSON.parse(r.machine) as { hostname?: string; node?: string; fleet?: string };
        const host = m.node ? `${m.node} (fleet ${m.fleet})` : String(m.hostname ?? '?');
        out(`${String(r.id).padStart(5)}  ${r.started_at}  ${r.status.padEnd(11)}  ${host.padEnd(12)} suite ${r.suite.padEnd(10)} reps ${String(r.reps).padEnd(3)} ${r.targets}  (${store.results(r.id).length} results${failed ? `, ${failed} failures` : ''})${r.note?.startsWith('imported') ? '  imported' : ''}`);
      }
    }
    return 0;
  } finally {
    store.close();
  }
}

function runArg(positionals: string[], cmd: string): number {
  const r = positionals[0];
  if (!r || !/^\d+$/.test(r)) throw optionError('run', `isoprobe ${cmd} RUN: expected a run number (see isoprobe history)${r ? `, not "${r}"` : ''}`);
  return Number(r);
}

export async function cmdExport(argv: string[], out: Out): Promise<number> {
  const T: Table = { ...DB, format: { kind: 'enum', default: 'json', choices: ['json', 'csv', ...EXPORT_FORMATS], help: 'output format' }, output: { kind: 'string', default: '', help: 'write to this file instead of standard output' } };
  const p = parseCommand(argv, T, 'export', ['usage: isoprobe export [options] RUN', '', 'One stored run, every result, as JSON or CSV; or as fio json+ (block results), OpenMetrics or Bencher BMF.'], out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  const id = runArg(positionals, 'export');
  const store = openStore(v.db);
  let text: string;
  try {
    const run = store.run(id);
    const rows = store.results(id);
    const format = (v.format ?? 'json') as string;
    if (isExportFormat(format)) text = exportRun(format, run, storedCells(store, id));
    else if (format === 'json') {
      text = JSON.stringify({ run: { ...run, machine: JSON.parse(run.machine), owner: undefined },  // its process means nothing elsewhere
        results: rows.map((r) => ({ workload: r.workload, target: r.target, rep: r.rep, result: JSON.parse(r.json) })),
        failures: store.failures(id) });
    } else text = resultsCsv(id, rows);
  } finally {
    store.close();
  }
  if (v.output) writeFileSync(v.output as string, text + '\n', { flag: 'wx', mode: 0o644 });
  else out(text);
  return 0;
}

/** Rebuilds a comparison from a stored run (for reports of earlier runs). */
export function comparisonFromStore(store: Store, id: number): Comparison {
  const run = store.run(id);
  const rows = store.results(id);
  const targets = run.targets.split(',');
  const cells = storedCells(store, id);
  const workloads = [...new Set(cells.map((c) => c.workload))];
  for (const t of targets) for (const w of workloads) if (!cells.some((c) => c.target === t && c.workload === w)) cells.push({ target: t, workload: w, results: [], error: 'no results stored' });
  // Each workload's kind is what its results measured (none where nothing was).
  const summaries = summarizeWorkloads(cells, workloads.map((name) => ({ name })), targets);
  const warnings = warningsFor(summaries, run.reps);
  if (run.status !== 'complete') warnings.unshift(`run ${id} is ${run.status}: it holds ${rows.length} of ${run.reps * workloads.length * targets.length} results`);
  const stacks = Object.fromEntries(targets.map((t) => [t, cells.find((c) => c.target === t && c.results.length)?.results[0]?.target ?? null]));
  return { runId: id, suite: run.suite, reps: run.reps, targets, summaries, warnings, cells, stacks };
}

const REPORT: Table = {
  ...DB,
  output: { kind: 'string', default: '', help: 'the HTML file to write', defaultText: 'isoprobe-report-RUN.html, or isoprobe-trend.html' },
  fleet: { kind: 'string', default: '', help: 'a fleet run (isoprobe fleet run): last, or its id; the report groups by node' },
  baseline_node: { kind: 'string', default: '', help: 'with --fleet: the node the ratios are taken against', defaultText: 'the first node' },
  trend: { kind: 'bool', default: false, help: 'every stored run in time order, per workload, target and metric: bands, stack changes, change points' },
  target: { kind: 'string', default: '', help: 'with --trend: only these targets (comma-separated labels)' },
  workload: { kind: 'string', default: '', help: 'with --trend: only these workloads (comma-separated)' },
  metric: { kind: 'string', default: '', help: `with --trend: only these metrics (${RESULT_METRICS.join(', ')})` },
  threshold: { kind: 'string', default: '5%', help: 'with --trend: noise threshold of a change point' },
  alpha: { kind: 'string', default: '0.01', help: 'with --trend: significance of a change point' },
};

export async function cmdReport(argv: string[], out: Out): Promise<number> {
  const args = argv.map((a) => (a === '-o' ? '--output' : a));
  const p = parseCommand(args, REPORT, 'report', ['usage: isoprobe report [options] RUN', '       isoprobe report --fleet last|ID [--baseline-node NODE] [-o FILE]', '       isoprobe report --trend [--target T] [--workload W] [--metric M] [-o FILE]', '',
    'A self-contained HTML report of one stored run, or of the trend across all of them (-o is --output).'], out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  const store = openStore(v.db);
  try {
    if (v.trend) {
      if (positionals.length) throw optionError('trend', `--trend covers every stored run; no RUN ("${positionals[0]}")`);
      const series = trendSeries(store, { targets: list(v.target), workloads: list(v.workload), metrics: parseMetrics(v.metric, RESULT_METRICS),
        threshold: parseThreshold((v.threshold as string | undefined) ?? '5%'), alpha: parseAlpha(v.alpha) });
      const file = (v.output as string) || 'isoprobe-trend.html';
      writeFileSync(file, renderTrendHtml(series), { mode: 0o644 });
      const cps = series.flatMap((s) => s.points.filter((x) => x.changePoint).map((x) => `${s.workload} on ${s.target} ${s.metric}: ${x.changePoint} at run ${x.run}`));
      out(`trend of ${series.length} series written to ${file}${cps.length ? `\n${cps.join('\n')}` : '; no change points'}`);
      return 0;
    }
    if (v.fleet) return reportFleet(store, v, positionals, out);
    const id = runArg(positionals, 'report');
    const c = comparisonFromStore(store, id);
    const file = (v.output as string) || `isoprobe-report-${id}.html`;
    writeHtml(file, c, { machine: JSON.parse(store.run(id).machine), probe_env: c.cells.find((x) => x.results.length)?.results[0]?.env });
    for (const l of whereSummary(c).slice(1)) out(l);  // a traced run's split by layer per target (--where)
    out(`report written to ${file}`);
    return 0;
  } finally {
    store.close();
  }
}

/** report --fleet: the by-node tables printed, and the HTML report by node written. */
function reportFleet(store: Store, v: Record<string, unknown>, positionals: string[], out: Out): number {
  if (positionals.length) throw optionError('fleet', `--fleet reports every node's run of the fleet; no RUN ("${positionals[0]}")`);
  const runs = fleetRuns(store, v.fleet as string);
  const tables = byNode(runs, (v.baseline_node as string) || undefined);
  const fleet = String(runs[0]!.machine.fleet);
  const file = (v.output as string) || `isoprobe-fleet-${fleet}.html`;
  writeFileSync(file, renderNodeReport(fleet, tables, runs), { mode: 0o644 });
  out(`${formatNodeTables(tables, runs)}\n\nreport written to ${file}`);
  return 0;
}

const AB: Table = {
  baseline: { kind: 'string', default: '', help: 'RUN number or exported JSON file; with --run, the baseline target or variant, e.g. qemu-microvm[kernel=6.1]' },
  candidate: { kind: 'string', default: '', help: 'RUN number or exported JSON file; with --run, the candidate target or variant' },
  metric: { kind: 'string', default: '', help: `only these metrics (comma-separated: ${METRICS.join(', ')})`, defaultText: gatedText() },
  workload: { kind: 'string', default: '', help: 'only these workloads (comma-separated)', defaultText: 'every workload on both sides' },
  target: { kind: 'string', default: '', help: 'only these targets (comma-separated labels)', defaultText: 'every target on both sides' },
  baseline_target: { kind: 'string', default: '', help: "compare this target of the baseline with --candidate-target of the candidate (two different targets)" },
  candidate_target: { kind: 'string', default: '', help: 'the candidate\'s target for --baseline-target', defaultText: "the baseline's" },
  threshold: { kind: 'string', default: '5%', help: 'noise threshold: a regression must also move the median this much, e.g. 5%' },
  cost_threshold: { kind: 'string', default: `${(CLASS_THRESHOLDS.cost ?? 0.1) * 100}%`, help: `the noise threshold of the host-cost metrics (${metricDefs().filter((d) => d.thresholdClass === 'cost').map((d) => d.name).join(', ')}): host-side figures vary more than the probe's own` },
  count_threshold: { kind: 'string', default: `${(CLASS_THRESHOLDS.count ?? 0.05) * 100}%`, help: `the noise threshold of the counts per operation (${metricDefs().filter((d) => d.thresholdClass === 'count').map((d) => d.name).join(', ')}): exact counts, far quieter than times` },
  alpha: { kind: 'string', default: '0.01', help: 'family-wise level over all cells: of a false regression (the exit code), and separately of a false improvement' },
  baseline_node: { kind: 'string', default: '', help: 'the gate between nodes of a fleet run: the baseline node, several (a,b) or group:NAME' },
  candidate_node: { kind: 'string', default: '', help: 'the candidate node, several, or group:NAME (with --baseline-node)' },
  fleet: { kind: 'string', default: 'last', help: 'with --baseline-node: the fleet run, last or its id' },
  run: { kind: 'bool', default: false, help: 'measure both sides now in pairs of short blocks (ABBA, stored as one run) until --precision or --budget, then judge' },
  step_down: { kind: 'bool', default: false, help: 'verdicts by step-down max-T: more power where several cells moved; the printed intervals stay single-step' },
  suite: COMPARE.suite!,
  reps: { kind: 'uint', default: 10, min: 3, help: 'with --run --unpaired: repetitions per side' },
  ...PAIRED_OPTIONS,
  junit: { kind: 'string', default: '', help: 'also write JUnit XML: one testcase per cell, a regression is a failure' },
  markdown: { kind: 'string', default: '', help: 'also write a Markdown summary (for a CI job summary)' },
  seed: { kind: 'uint', default: 1, help: 'seed of the permutations and bootstrap intervals' },
  ...DB,
  json: COMPARE.json!,
  ...SESSION_OPTIONS,
  ...SHIELD_OPTION,
};

function parseThreshold(s: string, option = 'threshold'): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(s) ?? /^(0?\.\d+)$/.exec(s);
  if (!m) throw optionError(option, `--${option.replace(/_/g, '-')} "${s}": expected a percentage like 5% (or a fraction like 0.05)`);
  return s.endsWith('%') ? Number(m[1]) / 100 : Number(m[1]);
}

function parseAlpha(v: unknown): number {
  const alpha = Number((v as string | undefined) ?? '0.01');
  if (!(alpha > 0 && alpha < 1)) throw optionError('alpha', `--alpha "${v}": expected a number between 0 and 1`);
  return alpha;
}

function list(v: unknown): string[] | undefined {
  return typeof v === 'string' && v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined;
}

function parseMetrics(v: unknown, choices: readonly Metric[] = METRICS): Metric[] | undefined {
  const ms = list(v);
  for (const m of ms ?? []) if (!(choices as readonly string[]).includes(m)) throw optionError('metric', `--metric "${m}": expected one of ${choices.join(', ')}`);
  return ms as Metric[] | undefined;
}

const AB_HEAD = ['usage: isoprobe ab --baseline RUN|FILE --candidate RUN|FILE [options]', '       isoprobe ab --run --baseline VARIANT --candidate VARIANT [--suite quick] [--reps 10]', '       isoprobe ab --baseline-node NODE|group:G --candidate-node NODE|group:G [--fleet last|ID]', '',
  'The A/B regression gate over a whole suite: every workload x target x metric on both sides is a cell, all',
  'tested together (max-T permutation test: a false regression over all cells at most alpha, a false improvement likewise)',
  'and judged against a noise threshold. Needs enough repetitions for alpha: 5 a side at 0.01 (1/C(10, 5) = 1/252).',
  'With --run, A and B are measured in pairs of short blocks (ABBA) and tested paired (sign flips of whole pairs), until',
  'every cell can find a change of --precision or --budget is spent; a cell that could not is INCONCLUSIVE, never a pass.',
  'Exit: 0 no regression, 1 a regression, 125 cannot tell: inconclusive, or nothing could be measured or compared',
  '(git bisect run: skip), 2 bad input.'];

/** --baseline-node A --candidate-node B: both sides from one fleet run, each node's own repetitions. */
function nodeSides(v: Record<string, unknown>, store: Store): { b: Side; c: Side } {
  if (!v.baseline_node || !v.candidate_node) throw optionError(v.baseline_node ? 'candidate_node' : 'baseline_node', 'ab: --baseline-node and --candidate-node go together (two nodes or groups of a fleet run)');
  if (v.baseline || v.candidate || v.run) throw optionError('baseline_node', 'ab: --baseline-node/--candidate-node take both sides from a fleet run; not with --baseline, --candidate or --run');
  const fleet = (v.fleet as string | undefined) ?? 'last';
  return { b: nodeSide(store, fleet, v.baseline_node as string, 'baseline_node'), c: nodeSide(store, fleet, v.candidate_node as string, 'candidate_node') };
}

/** Measures both variants now (interleaved, one stored run) and returns the two sides. */
async function measureBoth(v: Record<string, unknown>, argv: string[], store: Store, signal: AbortSignal): Promise<{ b: Side; c: Side; pair: [string, string] }> {
  if (!v.baseline || !v.candidate) throw optionError('baseline', 'ab --run: give --baseline and --candidate, the two targets or variants to measure');
  const [b, c] = [parseVariant(v.baseline as string, 'baseline'), parseVariant(v.candidate as string, 'candidate')];
  if (b.label === c.label) throw optionError('candidate', `--candidate "${c.label}": the same as the baseline; name two different targets or settings`);
  // Refused before measuring: a gate that could never flag anything is no gate.
  const reps = (v.reps as number | undefined) ?? 10;
  const weak = underpowered(reps, reps, parseAlpha(v.alpha));
  if (weak) throw optionError('reps', `--reps ${reps}: ${weak}`);
  const suite = loadSuite((v.suite as string | undefined) ?? 'quick');
  await sweepFirst();
  const shield = shieldFromOption(v.shield);
  const res = await compare({ targets: [b, c], suite, reps: (v.reps as number | undefined) ?? 10, spec: abSessionSpec(v), store, signal, command: `isoprobe ab ${argv.join(' ')}`,
    onProgress: v.json ? undefined : progressReporter(process.stderr.isTTY === true) }).finally(() => shield?.restore());
  const side = loadSide(String(res.runId), () => store, 'baseline');
  return { b: { ...side, label: `${b.label} (run ${res.runId})` }, c: { ...side, label: `${c.label} (run ${res.runId})` }, pair: [b.label, c.label] };
}

export async function cmdAb(argv: string[], out: Out, signal: AbortSignal): Promise<number> {
  const p = parseCommand(argv, AB, 'ab', AB_HEAD, out);
  if (!p) return 0;
  const { values: v } = p;
  const threshold = parseThreshold((v.threshold as string | undefined) ?? '5%');
  const costThreshold = parseThreshold((v.cost_threshold as string | undefined) ?? AB.cost_threshold!.default as string, 'cost_threshold');
  const countThreshold = parseThreshold((v.count_threshold as string | undefined) ?? AB.count_threshold!.default as string, 'count_threshold');
  const alpha = parseAlpha(v.alpha);
  const metrics = parseMetrics(v.metric);
  let store: Store | undefined;
  const getStore = () => (store ??= openStore(v.db));
  try {
    if (v.where && !v.run) throw optionError('where', '--where goes with --run: it traces both sides while they are measured');
    if (v.shield !== undefined && !v.run) throw optionError('shield', `--shield ${v.shield}: goes with --run; it shields the CPUs while both sides are measured`);
    for (const k of ['precision', 'budget', 'block', 'block_warmup', 'screen', 'unpaired'] as const) {
      if ((!v.run || (v.unpaired && k !== 'unpaired')) && v[k] !== undefined) throw optionError(k, `--${k.replace('_', '-')} goes with --run${k === 'unpaired' ? '' : ' (paired, the default)'}: it sets how both sides are measured`);
    }
    if (v.run && !v.unpaired) return await cmdAbPaired(v, argv, out, signal, getStore(), { alpha, threshold, classThresholds: { cost: costThreshold, count: countThreshold }, metrics });
    let sides: { b: Side; c: Side; pair?: [string, string] };
    try {
      if (v.run) sides = await measureBoth(v, argv, getStore(), signal);
      else if (v.baseline_node || v.candidate_node) sides = nodeSides(v, getStore());
      else {
        if (!v.baseline) throw optionError('baseline', '--baseline: expected a run number or an exported JSON file');
        if (!v.candidate) throw optionError('candidate', '--candidate: expected a run number or an exported JSON file');
        sides = { b: loadSide(v.baseline as string, getStore, 'baseline'), c: loadSide(v.candidate as string, getStore, 'candidate') };
        if (v.baseline_target) sides.pair = [v.baseline_target as string, (v.candidate_target as string) || (v.baseline_target as string)];
      }
    } catch (e) {
      // Could not measure (a target unavailable, a run that failed): "cannot tell" for git bisect run.
      const code = (e as IsoprobeError).code;
      if (code === 'EINVALOPT' || code === 'ECANCELED') throw e;
      process.stderr.write(`isoprobe: ${(e as Error).message}\n`);
      return 125;
    }
    let g: ReturnType<typeof suiteGate>;
    try {
      g = suiteGate(sides.b, sides.c, { alpha, threshold, classThresholds: { cost: costThreshold, count: countThreshold }, metrics, workloads: list(v.workload), targets: list(v.target), pair: sides.pair, seed: (v.seed as number | undefined) ?? 1, stepDown: v.step_down === true });
    } catch (e) {
      // Too few repetitions to ever flag a change: "cannot tell" for git bisect run, with the reason.
      if ((e as IsoprobeError).code !== 'EUNDERPOWERED') throw e;
      process.stderr.write(`isoprobe: ${(e as Error).message}\n`);
      return 125;
    }
    if (v.junit) writeFileSync(v.junit as string, gateJUnit(g));
    if (v.markdown) writeFileSync(v.markdown as string, gateMarkdown(g));
    out(v.json ? JSON.stringify({ verdict: gateExitCode(g) === 1 ? 'regression' : g.cells.length ? 'no regression' : 'nothing compared', ...g }, null, 2) : formatGate(g));
    return gateExitCode(g);
  } finally {
    store?.close();
  }
}

/** ab --run, paired: measure in block pairs until the precision or the budget, judge, report. */
async function cmdAbPaired(v: Record<string, unknown>, argv: string[], out: Out, signal: AbortSignal, store: Store,
  o: { alpha: number; threshold: number; classThresholds: Partial<Record<ThresholdClass, number>>; metrics?: Metric[] }): Promise<number> {
  if (!v.baseline || !v.candidate) throw optionError('baseline', 'ab --run: give --baseline and --candidate, the two targets or variants to measure');
  if (v.reps !== undefined) throw optionError('reps', `--reps ${v.reps}: with --run, A and B are measured in block pairs until --precision or --budget; --reps counts whole repetitions of --unpaired`);
  const precision = v.precision ? parseThreshold(v.precision as string, 'precision') : o.threshold;
  let g: GateOutcome;
  try {
    g = await pairedAb({
      baseline: v.baseline as string, candidate: v.candidate as string, suite: v.suite as string | undefined, ...o, precision,
      budgetNs: (v.budget as number | undefined) ?? 600e9, blockNs: (v.block as number | undefined) ?? 300e6, warmupNs: (v.block_warmup as number | undefined) ?? 100e6,
      screen: v.screen !== false, seed: (v.seed as number | undefined) ?? 1,
    }, v, store, signal, `isoprobe ab ${argv.join(' ')}`, v.json ? undefined : (s) => process.stderr.write(`${s}\n`));
  } catch (e) {
    const code = (e as IsoprobeError).code;
    if (code === 'EINVALOPT' || code === 'ECANCELED') throw e;
    process.stderr.write(`isoprobe: ${(e as Error).message}\n`);
    return 125;
  }
  if (v.junit) writeFileSync(v.junit as string, gateJUnit(g));
  if (v.markdown) writeFileSync(v.markdown as string, gateMarkdown(g));
  const code = gateExitCode(g);
  out(v.json ? JSON.stringify({ verdict: code === 1 ? 'regression' : code === 125 ? (g.cells.length ? 'inconclusive' : 'nothing compared') : 'no regression', ...g }, null, 2) : formatGate(g));
  return code;
}

export async function cmdImport(argv: string[], out: Out): Promise<number> {
  const T: Table = { ...DB, json: COMPARE.json!,
    node: { kind: 'string', default: '', help: 'import as this node of a fleet (report --fleet, ab --baseline-node): e.g. a CI job\'s runner label' },
    node_groups: { kind: 'string', default: '', help: 'with --node: its groups, comma-separated (ab --baseline-node group:NAME)' },
    fleet: { kind: 'string', default: '', help: 'with --node: the fleet the run belongs to (e.g. the CI pipeline\'s id)', defaultText: 'import-DATE' } };
  const p = parseCommand(argv, T, 'import', ['usage: isoprobe import [options] FILE.json|OTHER.db ...', '',
    'Runs measured on other machines (isoprobe export --format json RUN, or another isoprobe database) into this store,',
    'each with its host identity; a run already here is refused, the files themselves are never changed.'], out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  if (!positionals.length) throw optionError('file', 'isoprobe import: expected one or more export files or isoprobe databases');
  if ((v.node_groups || v.fleet) && !v.node) throw optionError(v.fleet ? 'fleet' : 'node_groups', `--${v.fleet ? 'fleet' : 'node-groups'} goes with --node NAME`);
  if (v.node && !/^[A-Za-z0-9._-]{1,64}$/.test(v.node as string)) throw optionError('node', `--node "${v.node}": expected a name of letters, digits, . _ - (1-64)`);
  const machine = v.node ? { node: v.node, node_groups: list(v.node_groups) ?? [], fleet: (v.fleet as string) || `import-${new Date().toISOString().slice(0, 10)}` } : undefined;
  const store = openStore(v.db);
  try {
    let refused = 0;
    const report: Record<string, { imported: number[]; refused: string[] }> = {};
    for (const f of positionals) {
      const r = importRuns(store, f, machine);
      report[f] = r;
      refused += r.refused.length;
      if (!v.json) {
        for (const id of r.imported) out(`imported ${f}: run ${id}`);
        for (const m of r.refused) out(`refused ${m}`);
      }
    }
    if (v.json) out(JSON.stringify(report, null, 2));
    return refused ? 1 : 0;
  } finally {
    store.close();
  }
}
