// CLI commands of the main job: compare, history, export, report, ab.
import { writeFileSync } from 'node:fs';

import { abCompare, loadSide, type Metric, METRICS } from '../compare/ab';
import { compare, type Cell, summarize, warningsFor, type Comparison } from '../compare/compare';
import { loadSuite, type Suite } from '../compare/suites';
import { IsoprobeError, optionError } from '../errors';
import { renderHtml } from '../report/html';
import { formatComparison } from '../report/compare-text';
import { defaultDbPath, machineFingerprint, Store } from '../store/db';
import { isTargetName, TARGET_NAMES, type TargetName } from '../targets';
import type { TargetResult } from '../targets/types';
import { formatNs } from '../units';
import { parseCommand, type Table } from './args';
import { SESSION_OPTIONS, sessionSpecFrom } from './session-options';

type Out = (s: string) => void;

const DB: Table = { db: { kind: 'string', default: '', help: 'results database', defaultText: defaultDbPath() } };

function openStore(path: unknown): Store {
  return new Store((path as string) || defaultDbPath());
}

export function parseTargets(text: string): TargetName[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!names.length) throw optionError('targets', '--targets "": expected a comma-separated list of targets');
  for (const n of names) if (!isTargetName(n)) throw optionError('targets', `--targets: unknown target "${n}"; expected some of ${TARGET_NAMES.join(', ')}`);
  if (new Set(names).size !== names.length) throw optionError('targets', `--targets "${text}": a target is named twice`);
  return names as TargetName[];
}

const COMPARE: Table = {
  targets: { kind: 'string', default: 'host,runc,runsc,qemu-microvm', help: 'comma-separated targets, the first is the baseline of the ratios' },
  suite: { kind: 'string', default: 'quick', help: 'quick, paper, or a JSON/YAML suite file' },
  reps: { kind: 'uint', default: 5, min: 1, max: 1000, help: 'repetitions per target and workload' },
  ...DB,
  no_store: { kind: 'bool', default: false, help: 'do not record the run in the database' },
  html: { kind: 'string', default: '', help: 'also write the HTML report to this file' },
  json: { kind: 'bool', default: false, help: 'print the comparison as JSON' },
  force: { kind: 'bool', default: false, help: 'compare even if the probe binaries measured in the targets differ' },
  seed: { kind: 'uint', default: 0, help: 'seed of the shuffled order (0: from the clock)' },
  ...SESSION_OPTIONS,
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

export function writeHtml(path: string, c: Comparison, env: Record<string, unknown>): void {
  writeFileSync(path, renderHtml(c, env, `isoprobe: ${c.targets.join(' vs ')}`), { mode: 0o644 });
}

export async function cmdCompare(argv: string[], out: Out, signal: AbortSignal): Promise<number> {
  const p = parseCommand(argv, COMPARE, 'compare', COMPARE_HEAD, out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  if (positionals.length) throw new IsoprobeError('EINVALOPT', `unexpected argument "${positionals[0]}" (options start with --)`);
  const targets = parseTargets((v.targets as string | undefined) ?? (COMPARE.targets!.default as string));
  const suite: Suite = loadSuite((v.suite as string | undefined) ?? 'quick');
  const store = v.no_store ? undefined : openStore(v.db);
  const spec = sessionSpecFrom(v);
  try {
    const c = await compare({
      targets, suite, reps: (v.reps as number | undefined) ?? 5, spec, store, force: v.force === true, signal,
      seed: (v.seed as number) || undefined, command: `isoprobe compare ${argv.join(' ')}`,
      onProgress: v.json ? undefined : progressReporter(process.stderr.isTTY === true),
    });
    out(v.json ? JSON.stringify({ ...c, cells: undefined }, null, 2) : formatComparison(c));
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
        out(`${String(r.id).padStart(5)}  ${r.started_at}  ${r.status.padEnd(10)}  suite ${r.suite.padEnd(10)} reps ${String(r.reps).padEnd(3)} ${r.targets}  (${store.results(r.id).length} results${failed ? `, ${failed} failures` : ''})`);
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
  const T: Table = { ...DB, format: { kind: 'enum', default: 'json', choices: ['json', 'csv'], help: 'output format' }, output: { kind: 'string', default: '', help: 'write to this file instead of standard output' } };
  const p = parseCommand(argv, T, 'export', ['usage: isoprobe export [options] RUN', '', 'One stored run, every result, as JSON or CSV.'], out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  const id = runArg(positionals, 'export');
  const store = openStore(v.db);
  let text: string;
  try {
    const run = store.run(id);
    const rows = store.results(id);
    if ((v.format ?? 'json') === 'json') {
      text = JSON.stringify({ run: { ...run, machine: JSON.parse(run.machine) }, results: rows.map((r) => ({ workload: r.workload, target: r.target, rep: r.rep, result: JSON.parse(r.json) })) });
    } else {
      const head = 'run,workload,target,rep,kind,p50_ns,p99_ns,p999_ns,mean_ns,iops,tps,bits_per_s,host_page_cache,emulated,probe_sha256';
      const lines = rows.map((r) => {
        const j = JSON.parse(r.json);
        const l = j.latency_ns;
        const cell = (x: unknown) => (x === undefined || x === null ? '' : String(x));
        return [id, r.workload, r.target, r.rep, r.kind, cell(l?.percentiles['50']), cell(l?.percentiles['99']), cell(l?.percentiles['99.9']), cell(l?.mean), cell(j.iops), cell(j.tps), cell(j.bits_per_s), cell(r.host_page_cache), r.emulated, r.probe_sha256]
          .map((x) => (/[",\n]/.test(String(x)) ? `"${String(x).replace(/"/g, '""')}"` : String(x))).join(',');
      });
      text = [head, ...lines].join('\n');
    }
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
  const workloads: string[] = [];
  const cells: Cell[] = [];
  for (const r of rows) {
    if (!workloads.includes(r.workload)) workloads.push(r.workload);
    let c = cells.find((x) => x.target === r.target && x.workload === r.workload);
    if (!c) cells.push((c = { target: r.target, workload: r.workload, results: [] }));
    c.results.push(JSON.parse(r.json) as TargetResult);
  }
  for (const f of store.failures(id)) {
    if (!workloads.includes(f.workload)) workloads.push(f.workload);
    const c = cells.find((x) => x.target === f.target && x.workload === f.workload);
    if (c) c.error = f.message;
    else cells.push({ target: f.target, workload: f.workload, results: [], error: f.message });
  }
  for (const t of targets) for (const w of workloads) if (!cells.some((c) => c.target === t && c.workload === w)) cells.push({ target: t, workload: w, results: [], error: 'no results stored' });
  const suite: Suite = { name: run.suite, workloads: workloads.map((w) => ({ name: w, workload: { kind: (cells.find((c) => c.workload === w && c.results.length)?.results[0]?.kind === 'block' ? 'block' : cells.find((c) => c.workload === w && c.results.length)?.results[0]?.kind === 'tcp_stream' ? 'stream' : 'rr') as 'block', options: {} } })) };
  const summaries = summarize(cells, suite, targets);
  const warnings = warningsFor(summaries, run.reps);
  if (run.status !== 'complete') warnings.unshift(`run ${id} is ${run.status}: it holds ${rows.length} of ${run.reps * workloads.length * targets.length} results`);
  const stacks = Object.fromEntries(targets.map((t) => [t, cells.find((c) => c.target === t && c.results.length)?.results[0]?.target ?? null]));
  return { runId: id, suite: run.suite, reps: run.reps, targets, summaries, warnings, cells, stacks };
}

export async function cmdReport(argv: string[], out: Out): Promise<number> {
  const T: Table = { ...DB, output: { kind: 'string', default: '', help: 'the HTML file to write (default isoprobe-report-RUN.html)' } };
  const args = argv.map((a) => (a === '-o' ? '--output' : a));
  const p = parseCommand(args, T, 'report', ['usage: isoprobe report [options] RUN', '', 'A self-contained HTML report of one stored run (-o is --output).'], out);
  if (!p) return 0;
  const { values: v, positionals } = p;
  const id = runArg(positionals, 'report');
  const store = openStore(v.db);
  try {
    const c = comparisonFromStore(store, id);
    const file = (v.output as string) || `isoprobe-report-${id}.html`;
    writeHtml(file, c, { machine: JSON.parse(store.run(id).machine), probe_env: c.cells.find((x) => x.results.length)?.results[0]?.env });
    out(`report written to ${file}`);
    return 0;
  } finally {
    store.close();
  }
}

const AB: Table = {
  baseline: { kind: 'string', default: '', help: 'RUN number or exported JSON file (required unless --run)' },
  candidate: { kind: 'string', default: '', help: 'RUN number or exported JSON file (required unless --run)' },
  metric: { kind: 'enum', default: 'p99', choices: METRICS, help: 'the value compared, one per repetition' },
  threshold: { kind: 'string', default: '5%', help: 'noise threshold the change must clear, e.g. 5%' },
  alpha: { kind: 'string', default: '0.01', help: 'permutation test significance level' },
  workload: { kind: 'string', default: '', help: 'which workload, when a side has several' },
  baseline_target: { kind: 'string', default: '', help: 'which target of the baseline, when it has several' },
  candidate_target: { kind: 'string', default: '', help: 'which target of the candidate', defaultText: "the baseline's" },
  run: { kind: 'bool', default: false, help: 'measure both sides now, interleaved: --baseline-target and --candidate-target are the targets' },
  suite: COMPARE.suite!,
  reps: { kind: 'uint', default: 10, min: 3, help: 'with --run: repetitions per side' },
  ...DB,
  json: COMPARE.json!,
  ...SESSION_OPTIONS,
};

function parseThreshold(s: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(s) ?? /^(0?\.\d+)$/.exec(s);
  if (!m) throw optionError('threshold', `--threshold "${s}": expected a percentage like 5% (or a fraction like 0.05)`);
  return s.endsWith('%') ? Number(m[1]) / 100 : Number(m[1]);
}

export async function cmdAb(argv: string[], out: Out, signal: AbortSignal): Promise<number> {
  const p = parseCommand(argv, AB, 'ab', ['usage: isoprobe ab --baseline RUN|FILE --candidate RUN|FILE [options]', '',
    'A/B regression gate: a permutation test and a noise threshold; exit 1 on a regression.'], out);
  if (!p) return 0;
  const { values: v } = p;
  const threshold = parseThreshold((v.threshold as string | undefined) ?? '5%');
  const alpha = Number((v.alpha as string | undefined) ?? '0.01');
  if (!(alpha > 0 && alpha < 1)) throw optionError('alpha', `--alpha "${v.alpha}": expected a number between 0 and 1`);
  let store: Store | undefined;
  const getStore = () => (store ??= openStore(v.db));
  try {
    let baselineSpec = v.baseline as string | undefined;
    let candidateSpec = v.candidate as string | undefined;
    if (v.run) {
      const bt = v.baseline_target as string | undefined;
      const ct = v.candidate_target as string | undefined;
      if (!bt || !ct) throw optionError('baseline_target', 'ab --run: give --baseline-target and --candidate-target (the two targets to measure)');
      const [b, c] = parseTargets(`${bt},${ct}`);
      const suite = loadSuite((v.suite as string | undefined) ?? 'quick');
      const res = await compare({ targets: [b!, c!], suite, reps: (v.reps as number | undefined) ?? 10, spec: sessionSpecFrom(v), store: getStore(), signal, command: `isoprobe ab ${argv.join(' ')}` });
      baselineSpec = candidateSpec = String(res.runId);
    }
    if (!baselineSpec) throw optionError('baseline', '--baseline: expected a run number or an exported JSON file');
    if (!candidateSpec) throw optionError('candidate', '--candidate: expected a run number or an exported JSON file');
    const outcome = abCompare(loadSide(baselineSpec, getStore, 'baseline'), loadSide(candidateSpec, getStore, 'candidate'), {
      metric: (v.metric as Metric | undefined) ?? 'p99', threshold, alpha,
      workload: (v.workload as string) || undefined,
      baselineTarget: (v.baseline_target as string) || undefined,
      candidateTarget: (v.candidate_target as string) || (v.baseline_target as string) || undefined,
    });
    if (v.json) out(JSON.stringify(outcome, null, 2));
    else {
      const fmt = outcome.metric.startsWith('p') || outcome.metric === 'mean' ? formatNs : (x: number) => x.toFixed(2);
      out(`${outcome.workload}: ${outcome.metric} baseline ${outcome.baseline.target} (${outcome.baseline.values.length} reps, median ${fmt(median(outcome.baseline.values))}) vs candidate ${outcome.candidate.target} (${outcome.candidate.values.length} reps, median ${fmt(median(outcome.candidate.values))})`);
      out(`${outcome.verdict.toUpperCase()}: ${outcome.why}`);
    }
    return outcome.verdict === 'regression' ? 1 : 0;
  } finally {
    store?.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}
