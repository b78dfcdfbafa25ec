// `isoprobe compare`: the same suite on several targets with the identical probe, repetitions
// interleaved across targets in a shuffled order, every result stored as it arrives, and a
// summary per workload with bootstrap intervals and ratios to the first target.
import { systemCheck } from '../system/check';
import { IsoprobeError } from '../errors';
import { withLock } from '../probe/lock';
import { mergeHistograms, percentile } from '../stats/histogram';
import { powerAdvice, powerBrief } from '../stats/power';
import { bootstrap, bootstrapRatio, type Interval, median, rng, stdev, mean } from '../stats/resample';
import type { Store } from '../store/db';
import { makeTarget, type TargetName } from '../targets';
import { checkTargetSpec, makeVariant, type Variant } from '../targets/variant';
import type { Session, SessionSpec, TargetResult } from '../targets/types';
import { metricOrNaN } from './ab';
import { KINDS, kindOfWorkload, type ResultKind } from './kinds';
import { columnsOf, type Metric, metricsOf, rateMetric } from './metrics';
import { mixedPlacements } from './placement';
import { CompareProgress } from './progress';
import type { Suite, SuiteWorkload } from './suites';

export interface CompareOptions {
  /** Targets or variants; a variant's label is the name every cell, row and store entry uses. */
  targets: (TargetName | Variant)[];
  suite: Suite;
  reps: number;
  spec: SessionSpec;
  /** Settings of one target over `spec` (e.g. another probe binary for one of them). */
  specs?: Partial<Record<string, SessionSpec>>;
  store?: Store;
  command?: string;
  /** Compare even if targets measured with different probe binaries. */
  force?: boolean;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, etaMs: number, what: string) => void;
  /** After each whole repetition: the comparison of what is in so far (a table can be shown and refined). */
  onRepetition?: (partial: Comparison, done: number) => void;
  /** Told when a repetition waits for another isoprobe run measuring on this machine. */
  onWait?: (message: string) => void;
}

export interface Cell {
  target: string;
  workload: string;
  results: TargetResult[];
  error?: string;
}

export interface Row {
  target: string;
  /** The kind of its results (or of its workload, when it has none). */
  kind?: ResultKind;
  /** How many results (repetitions) it has. */
  n: number;
  /** Each metric of its kind (metrics.ts), one value per repetition that has it. */
  values: Partial<Record<Metric, number[]>>;
  /** The median over repetitions and its bootstrap 95 % interval, for each of the table's metrics. */
  ci: Partial<Record<Metric, Interval>>;
  /** Of the kind's rate metric, against the baseline row's. */
  ratio?: Interval;
  /** The row the ratios are taken against: the first target that has results. */
  baseline?: boolean;
  hostCache: string;
  emulated: boolean;
  /** The rate's coefficient of variation over repetitions. */
  cv: number;
  error?: string;
  /** The repetitions ran with different placements: each with its count (placement.ts). */
  placements?: string;
  /** All repetitions' latency histograms merged (for CDFs). */
  histogram?: ReturnType<typeof mergeHistograms>;
}

export interface WorkloadSummary {
  workload: string;
  /** What its results measured; undefined when nothing was. */
  kind?: ResultKind;
  rows: Row[];
}

export interface Comparison {
  runId?: number;
  suite: string;
  reps: number;
  targets: string[];
  summaries: WorkloadSummary[];
  warnings: string[];
  /** The warnings with their kinds (absent on a comparison read back from JSON: then printed in full). */
  notes?: Note[];
  cells: Cell[];
  stacks: Record<string, unknown>;
}

const NO_INTERVAL: Interval = { estimate: NaN, low: NaN, high: NaN, level: 0.95 };

/** A row's rate (its kind's rate metric): the metric, its values per repetition and its interval. */
export function rateOf(r: Row): { metric?: Metric; values: number[]; ci: Interval } {
  if (!r.kind) return { values: [], ci: NO_INTERVAL };
  const metric = rateMetric(r.kind);
  return { metric, values: r.values[metric] ?? [], ci: r.ci[metric] ?? NO_INTERVAL };
}

/** A row's interval of a metric ("-" in the tables where it has none). */
export function ciOf(r: Row, m: Metric): Interval {
  return r.ci[m] ?? NO_INTERVAL;
}

/** One target's row of a workload: every metric of its kind per repetition, the table's with intervals, the rate's ratio to the baseline. */
export function summarizeCell(c: Cell, baseline?: Row, kindOf: ResultKind | undefined = c.results[0]?.kind): Row {
  const rs = c.results;
  const kind = rs[0]?.kind ?? kindOf;
  const row: Row = {
    target: c.target, kind, n: rs.length, values: {}, ci: {},
    hostCache: [...new Set(rs.map((r) => r.host_page_cache?.mode).filter(Boolean))].join('/') || '-',
    emulated: rs.some((r) => r.target.emulated),
    cv: 0,
    error: c.error,
  };
  if (!rs.length || !kind) return row;
  for (const m of metricsOf(kind)) row.values[m] = rs.map((r) => metricOrNaN(r, m)).filter(Number.isFinite);
  for (const m of new Set([...columnsOf(kind, { wide: true }), rateMetric(kind)])) if (row.values[m]?.length) row.ci[m] = bootstrap(row.values[m]!);
  const mixed = mixedPlacements(rs);
  if (mixed) row.placements = mixed;
  const rate = rateOf(row).values;
  row.cv = mean(rate) ? stdev(rate) / mean(rate) : 0;
  const hs = rs.map((r) => r.latency_ns?.histogram).filter((h): h is NonNullable<typeof h> => !!h);
  if (hs.length) row.histogram = mergeHistograms(...hs);
  const base = baseline && baseline !== row ? rateOf(baseline).values : [];
  if (base.length && rate.length) row.ratio = bootstrapRatio(rate, base);
  return row;
}

/** The summaries of workloads by name and kind (a kind their results show overrides it). */
export function summarizeWorkloads(cells: Cell[], workloads: { name: string; kind?: ResultKind }[], targets: string[]): WorkloadSummary[] {
  return workloads.map((w) => {
    const kind = cells.find((c) => c.workload === w.name && c.results.length)?.results[0]?.kind ?? w.kind;
    const rows: Row[] = [];
    for (const t of targets) {
      const cell = cells.find((c) => c.target === t && c.workload === w.name) ?? { target: t, workload: w.name, results: [] };
      const baseline = rows.find((r) => r.baseline);
      const row = summarizeCell(cell, baseline, kind);
      if (!baseline && rateOf(row).values.length) row.baseline = true;
      rows.push(row);
    }
    return { workload: w.name, kind, rows };
  });
}

export function summarize(cells: Cell[], suite: Suite, targets: string[]): WorkloadSummary[] {
  return summarizeWorkloads(cells, suite.workloads.map((w) => ({ name: w.name, kind: kindOfWorkload(w.workload) })), targets);
}

/** Repetitions whose rates vary more than this (coefficient of variation) are named in a warning. */
export const CV_WARNING = 0.1;

/** What kind of thing a warning says: the compact text prints one line per kind. */
export type NoteKind = 'failed' | 'varied' | 'placement' | 'advice' | 'power' | 'reps' | 'emulated' | 'waited';

/** A warning: its kind, the cell it is about (workload on target), and its full text. */
export interface Note {
  kind: NoteKind;
  cell?: string;
  text: string;
  /** The same in fewer words, for the one line its kind gets by default. */
  brief?: string;
}

/**
 * What a reader must know before the numbers: failures first, one each; then per workload the
 * targets whose repetitions varied and by how much, the cells whose placement differed; then the
 * run as a whole.
 */
export function notesFor(summaries: WorkloadSummary[], reps: number): Note[] {
  const failures: Note[] = [];
  const spread: Note[] = [];
  const emulated = new Set<string>();
  for (const s of summaries) {
    const varied: string[] = [];
    let most = 0;
    for (const r of s.rows) {
      if (r.emulated) emulated.add(r.target);
      const cell = `${s.workload} on ${r.target}`;
      if (r.error) failures.push({ kind: 'failed', cell, text: `${s.workload} failed on ${r.target}: ${r.error}` });
      if (r.cv > CV_WARNING && rateOf(r).values.length > 1) {
        varied.push(`${r.target} ${(r.cv * 100).toFixed(0)} %`);
        most = Math.max(most, r.cv);
      }
      if (r.placements) spread.push({ kind: 'placement', cell, text: `${cell}: repetitions ran with different CPU placements (${r.placements}); pin them (--cpus, --server-cpus) to compare like with like` });
    }
    if (varied.length) spread.push({ kind: 'varied', cell: `${s.workload} ${(most * 100).toFixed(0)} %`, text: `${s.workload}: repetitions vary by more than ${CV_WARNING * 100} % on ${varied.join(', ')}` });
  }
  const w = [...failures, ...spread];
  if (spread.length) w.push({ kind: 'advice', text: 'where repetitions vary: use more --reps or longer cells, and keep the machine idle' });
  const cvs = summaries.flatMap((s) => s.rows.filter((r) => rateOf(r).values.length > 1).map((r) => r.cv)).sort((a, b) => a - b);
  if (cvs.length) {
    const cv = cvs[cvs.length >> 1]!;
    w.push({ kind: 'power', text: `to gate a change between two runs like this one (isoprobe ab): ${powerAdvice(reps, cv)}`, brief: `gating a change between runs like this one: ${powerBrief(reps, cv)}` });
  }
  if (reps < 5) w.push({ kind: 'reps', text: `only ${reps} repetitions: confidence intervals are wide or missing; use --reps 5 or more` });
  for (const t of emulated) w.push({ kind: 'emulated', cell: t, text: `${t}: numbers come from software emulation (QEMU TCG); they show the boundary's behaviour, not its cost on hardware` });
  return w;
}

/** The warnings' texts (what a stored or JSON comparison keeps). */
export function warningsFor(summaries: WorkloadSummary[], reps: number): string[] {
  return notesFor(summaries, reps).map((n) => n.text);
}

function shuffle<T>(xs: T[], r: () => number): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * Refuses results measured by different probes: the hashes are the ones each probe computed of
 * itself where it ran (in the container, sandbox or guest), never the host's copy.
 */
export function checkSameProbe(cells: Cell[]): void {
  // One probe per architecture: an arm64 guest runs the aarch64 build of the same sources.
  const byArch = new Map<string, Map<string, Set<string>>>();
  for (const c of cells) for (const r of c.results) {
    const arch = r.env?.arch ?? '';
    const h = r.probe.sha256 || `unknown (${r.probe.sha256_error ?? 'not reported'})`;
    if (!byArch.has(arch)) byArch.set(arch, new Map());
    const byHash = byArch.get(arch)!;
    if (!byHash.has(h)) byHash.set(h, new Set());
    byHash.get(h)!.add(c.target);
  }
  for (const byHash of byArch.values())
    if (byHash.size > 1)
      throw new IsoprobeError('EPROBE', `the targets measured with different probe binaries: ${[...byHash].map(([h, ts]) => `${[...ts].join(', ')} ran sha256 ${h}`).join('; ')}; refusing to compare them (--force to do it anyway)`);
}

export async function compare(o: CompareOptions): Promise<Comparison> {
  if (!o.targets.length) throw new IsoprobeError('EINVALOPT', '--targets: expected at least one target', { option: 'targets' });
  if (!Number.isInteger(o.reps) || o.reps < 1) throw new IsoprobeError('EINVALOPT', `--reps ${o.reps}: expected a whole number of at least 1`, { option: 'reps' });
  const variants = o.targets.map((t) => (typeof t === 'string' ? makeVariant(t, {}, '--targets') : t));
  for (const v of variants) checkTargetSpec(v.target, { ...o.spec, ...v.spec, ...o.specs?.[v.label] }, `--targets "${v.label}"`);  // before any session
  const labels = variants.map((v) => v.label);
  if (new Set(labels).size !== labels.length) throw new IsoprobeError('EINVALOPT', `--targets: a target is named twice (${labels.join(', ')})`, { option: 'targets' });
  const byLabel = new Map(variants.map((v) => [v.label, v]));
  const sessions = new Map<string, Session>();
  const cells: Cell[] = [];
  for (const t of labels) for (const w of o.suite.workloads) cells.push({ target: t, workload: w.name, results: [] });
  let waitedMs = 0;
  const runId = o.store?.startRun({ suite: o.suite.name, reps: o.reps, targets: labels, command: o.command ?? 'compare', system: o.store ? await systemCheck({ windowMs: 300 }) : undefined });
  let status: 'complete' | 'incomplete' | 'failed' = 'failed';
  try {
    for (const v of variants) {
      const t = makeTarget(v.target);
      const a = await t.available();
      if (!a.ok) throw new IsoprobeError('EUNAVAILABLE', `target ${v.label} is not available here: ${a.reason}`);
      const needsNet = o.suite.workloads.some((w) => KINDS[kindOfWorkload(w.workload)].network && (w.workload as { placement?: string }).placement !== 'loopback');
      sessions.set(v.label, await t.start({ ...o.spec, ...v.spec, ...o.specs?.[v.label], network: needsNet }));
    }
    const r = rng(o.seed ?? Date.now() % 2 ** 31);
    const progress = new CompareProgress(o.suite, o.reps, labels.length, o.onProgress);
    // Repetitions interleave targets in a shuffled order; within one, a target runs the suite's
    // workloads in a shuffled order as one suite (a microVM boots once for all of them).
    for (let rep = 0; rep < o.reps; rep++) {
      for (const target of shuffle(labels, r)) {
        if (o.signal?.aborted) throw new IsoprobeError('ECANCELED', 'the comparison was interrupted');
        const todo = shuffle(o.suite.workloads, r);
        const cellOf = (w: SuiteWorkload) => cells.find((c) => c.target === target && c.workload === w.name)!;
        // A workload that failed on a target is recorded once, not retried.
        const run = todo.filter((w) => !cellOf(w).error);
        for (const w of todo) if (cellOf(w).error) progress.count(w, false);
        if (!run.length) continue;
        progress.tell(`${target} (rep ${rep + 1}/${o.reps}): ${run.map((w) => w.name).join(', ')}`);
        // One repetition measures at a time on this machine: another isoprobe run's load (its
        // I/O, its echo loops, its guest boots) stays out of this one's numbers.
        await withLock('measure', { what: 'the machine (another isoprobe run is measuring)', signal: o.signal, onWait: o.onWait }, async (l) => {
          waitedMs += l.waitedMs;
          // Progress as each cell measures (a microVM's at each result frame), the results as they are assembled.
          const counted = new Set<number>();
          const tick = (i: number) => {
            if (counted.has(i)) return;
            counted.add(i);
            progress.count(run[i]!, true);
            progress.tell('');
          };
          await sessions.get(target)!.runSuite(run.map((w) => w.workload), { signal: o.signal }, (i, res) => {
            const w = run[i]!;
            const cell = cellOf(w);
            if (res instanceof Error) {
              if ((res as IsoprobeError).code === 'ELOCKED') throw res;
              cell.error = res.message;
              o.store?.addFailure(runId!, w.name, target, rep, (res as IsoprobeError).code ?? 'ERROR', cell.error);
            } else {
              const v = byLabel.get(target)!;
              if (v.label !== v.target || Object.keys(v.settings).length) res.target = { ...res.target, variant: v.label, settings: v.settings };
              cell.results.push(res);
              o.store?.addResult(runId!, w.name, target, rep, res as unknown as Record<string, unknown>);
            }
            tick(i);
          }, tick);
        });
      }
      if (o.onRepetition && rep < o.reps - 1) o.onRepetition(comparisonOf(cells, o.suite, labels, rep + 1, runId), rep + 1);
    }
    progress.finished();
    if (!o.force) checkSameProbe(cells);
    status = 'complete';
  } catch (e) {
    status = (e as IsoprobeError).code === 'ECANCELED' ? 'incomplete' : 'failed';
    throw e;
  } finally {
    for (const s of sessions.values()) await s.stop().catch(() => undefined);
    if (runId !== undefined) o.store!.finishRun(runId, status);
  }
  const c = comparisonOf(cells, o.suite, labels, o.reps, runId);
  if (waitedMs >= 1000) {
    const text = `waited ${Math.round(waitedMs / 1000)} s in all for other isoprobe runs measuring on this machine; their load was kept out of these numbers, not their setup (boots, image loads)`;
    c.warnings.push(text);
    c.notes?.push({ kind: 'waited', text });
  }
  return c;
}

/** The comparison of the cells as they stand after `reps` repetitions. */
function comparisonOf(cells: Cell[], suite: Suite, labels: string[], reps: number, runId: number | undefined): Comparison {
  const summaries = summarize(cells, suite, labels);
  const stacks = Object.fromEntries(labels.map((t) => [t, cells.find((c) => c.target === t && c.results.length)?.results[0]?.target ?? null]));
  const notes = notesFor(summaries, reps);
  return { runId, suite: suite.name, reps, targets: labels, summaries, warnings: notes.map((n) => n.text), notes, cells, stacks };
}

export { median, percentile };
