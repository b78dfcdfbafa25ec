// Load-latency curves (isoprobe sweep): one workload with one parameter swept over a list of
// values, across targets. The points are the workloads of a suite run by compare() itself, so a
// sweep has compare's interleaving, repetitions, bootstrap intervals and storage, and two sweeps
// gate point by point like any two runs; each target's curve then gets its knee (stats/knee.ts).
import { IsoprobeError } from '../errors';
import { bootstrap, type Interval } from '../stats/resample';
import { KNEE_RULE, kneeIndex } from '../stats/knee';
import type { TargetResult, Workload } from '../targets/types';
import { ciOf, compare, type CompareOptions, type Comparison, rateOf } from './compare';
import { type Metric, metricDef } from './metrics';
import type { Suite } from './suites';

/** The parameters a sweep may vary, by workload kind. */
export const SWEEPABLE: Record<Workload['kind'], string[]> = {
  block: ['qd', 'jobs', 'bs', 'batch'],
  rr: ['rate', 'conns', 'size'],
  stream: ['streams', 'size'],
};

export interface SweepSpec {
  /** The workload every point shares; `param` is set to each value in turn. */
  workload: Workload;
  param: string;
  values: (number | string)[];
}

export interface CurvePoint {
  value: number | string;
  /** IOPS, transactions/s or Gbit/s: medians over repetitions with bootstrap 95 % intervals. */
  throughput: Interval;
  p50: Interval;
  p99: Interval;
  reps: number;
}

export interface Curve {
  target: string;
  /** The throughput's metric (the kind's rate) and its unit. */
  metric?: Metric;
  unit: string;
  points: CurvePoint[];
  /** Index into points of the knee (KNEE_RULE), if any point measured. */
  knee?: number;
}

export interface SweepOutcome {
  comparison: Comparison;
  spec: SweepSpec;
  curves: Curve[];
  rule: string;
}

/** The name of a sweep's point workload: "qd=4". Parsed back by pointValue. */
export const pointName = (param: string, v: number | string) => `${param}=${v}`;

/** The suite of a sweep: one workload per value, in the order given. */
export function sweepSuite(s: SweepSpec): Suite {
  const allowed = SWEEPABLE[s.workload.kind];
  if (!allowed.includes(s.param))
    throw new IsoprobeError('EINVALOPT', `sweep: --${s.param.replace(/_/g, '-')} cannot be swept for ${s.workload.kind}; expected one of ${allowed.map((p) => `--${p}`).join(', ')}`, { option: s.param });
  if (s.values.length < 2) throw new IsoprobeError('EINVALOPT', `sweep: --${s.param} ${s.values.join(',')}: expected at least two values, comma-separated`, { option: s.param });
  if (new Set(s.values.map(String)).size !== s.values.length) throw new IsoprobeError('EINVALOPT', `sweep: --${s.param} ${s.values.join(',')}: a value is given twice`, { option: s.param });
  return {
    name: `sweep ${s.workload.kind} ${s.param}`,
    workloads: s.values.map((v) => ({ name: pointName(s.param, v), workload: { ...s.workload, options: { ...s.workload.options, [s.param]: v } } as Workload })),
  };
}

/** Each target's curve from a sweep's comparison: its points in the order swept, and its knee. */
export function curvesOf(c: Comparison, s: SweepSpec): Curve[] {
  return c.targets.map((target) => {
    let metric: Metric | undefined;
    const points = s.values.map((value) => {
      const row = c.summaries.find((x) => x.workload === pointName(s.param, value))?.rows.find((r) => r.target === target);
      const rate = row && rateOf(row);
      metric ??= rate?.metric;
      const none: Interval = { estimate: NaN, low: NaN, high: NaN, level: 0.95 };
      if (!row || !rate?.values.length) return { value, throughput: none, p50: none, p99: none, reps: 0 };
      // An open loop's tps is its schedule (every request is answered, late or not); what the
      // target kept up with is the rate of replies inside the window.
      const cell = c.cells.find((x) => x.target === target && x.workload === pointName(s.param, value));
      const served = cell?.results.map(servedRate);
      const throughput = served?.length && served.every((x) => x !== undefined) ? bootstrap(served as number[]) : rate.ci;
      return { value, throughput, p50: ciOf(row, 'p50'), p99: ciOf(row, 'p99'), reps: rate.values.length };
    });
    const knee = kneeIndex(points.map((p) => ({ throughput: p.throughput.estimate, p99: p.p99.estimate })));
    return { target, metric, unit: metric ? metricDef(metric).unit : '', points, ...(knee !== undefined ? { knee } : {}) };
  });
}

/** What an open loop's target kept up with: the rate of replies inside the window (undefined for a closed loop or a block result). */
export function servedRate(r: TargetResult): number | undefined {
  return (r as { open_loop?: { served_rate?: number } }).open_loop?.served_rate;
}

/** Runs a sweep: the points as one suite through compare(), then the curves. */
export async function sweep(o: Omit<CompareOptions, 'suite'> & { sweep: SweepSpec }): Promise<SweepOutcome> {
  const { sweep: spec, ...rest } = o;
  const comparison = await compare({ ...rest, suite: sweepSuite(spec), command: o.command ?? 'sweep' });
  return { comparison, spec, curves: curvesOf(comparison, spec), rule: KNEE_RULE };
}
