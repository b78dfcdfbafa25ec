// The regression gate: one value per repetition on each side, a permutation test (p < alpha) and
// the bootstrap interval of the relative change clearing a noise threshold, both required (the
// Firecracker A/B approach). Either side is a stored run or an exported JSON file.
import { readFileSync } from 'node:fs';

import { IsoprobeError } from '../errors';
import { identityOptions } from '../probe/option-table';
import type { Store } from '../store/db';
import type { TargetResult } from '../targets/types';
import { metricDef, type Metric } from './metrics';
import { asStoredKind, storedResult } from './kinds';

export { higherIsWorse, type Metric, METRICS } from './metrics';

/** A metric of one result, NaN where it has none (a result from before host-cost accounting). */
export function metricOrNaN(r: TargetResult, m: Metric): number {
  const v = metricDef(m).value(r);
  return typeof v === 'number' && Number.isFinite(v) ? v : NaN;
}

/** A metric of one result; an error naming the metric when the result has none. */
export function metricValue(r: TargetResult, m: Metric): number {
  const v = metricOrNaN(r, m);
  if (Number.isNaN(v)) throw new IsoprobeError('EINVALOPT', `--metric ${m}: a ${r.kind} result has no ${metricDef(m).title}`, { option: 'metric' });
  return v;
}

export interface Side {
  label: string;
  /** workload name -> target -> results (one per repetition) */
  results: Map<string, Map<string, TargetResult[]>>;
  /** The repetition each result came from, when known (a failed repetition leaves a gap). */
  reps?: WeakMap<TargetResult, number>;
}

function add(side: Side, workload: string, target: string, r: TargetResult, rep?: number): void {
  if (rep !== undefined) (side.reps ??= new WeakMap()).set(r, rep);
  if (!side.results.has(workload)) side.results.set(workload, new Map());
  const m = side.results.get(workload)!;
  if (!m.has(target)) m.set(target, []);
  m.get(target)!.push(r);
}

/** A side from "RUN" (a run id in the store) or a file written by `isoprobe export --format json`. */
export function loadSide(spec: string, store: () => Store, option: string): Side {
  const side: Side = { label: spec, results: new Map() };
  if (/^\d+$/.test(spec)) {
    const s = store();
    s.run(Number(spec));
    for (const row of s.results(Number(spec))) add(side, row.workload, row.target, storedResult(row.json), row.rep);
    if (!side.results.size) throw new IsoprobeError('EINVALOPT', `--${option} ${spec}: run ${spec} has no results`, { option });
    return side;
  }
  let data: { results?: { workload: string; target: string; rep?: number; result: TargetResult }[] };
  try {
    data = JSON.parse(readFileSync(spec, 'utf8'));
  } catch (e) {
    throw new IsoprobeError('EINVALOPT', `--${option} "${spec}": expected a run number or a JSON file from "isoprobe export --format json" (${(e as Error).message})`, { option });
  }
  if (!Array.isArray(data.results)) throw new IsoprobeError('EINVALOPT', `--${option} ${spec}: no "results" list (expected a file from "isoprobe export --format json")`, { option });
  for (const r of data.results) add(side, r.workload, r.target, asStoredKind(r.result), r.rep);
  return side;
}

export function pick(side: Side, workload: string | undefined, target: string | undefined, option: string): { workload: string; target: string; results: TargetResult[] } {
  const ws = [...side.results.keys()];
  const w = workload ?? (ws.length === 1 ? ws[0] : undefined);
  if (!w || !side.results.has(w)) throw new IsoprobeError('EINVALOPT', `--workload${workload ? ` "${workload}"` : ''}: ${option} ${side.label} has workloads ${ws.join(', ')}; name one`, { option: 'workload' });
  const ts = [...side.results.get(w)!.keys()];
  const t = target ?? (ts.length === 1 ? ts[0] : undefined);
  if (!t || !side.results.get(w)!.has(t)) throw new IsoprobeError('EINVALOPT', `--${option}-target${target ? ` "${target}"` : ''}: ${option} ${side.label} has targets ${ts.join(', ')} for ${w}; name one`, { option: `${option}_target` });
  return { workload: w, target: t, results: side.results.get(w)!.get(t)! };
}

/**
 * What makes two results the same workload: their kind, the net mode (chosen by the command, not a
 * flag), and every option the core's tables mark as part of a workload's identity.
 */
let sameWorkload: string[] | undefined;
function sameWorkloadKeys(): string[] {
  return (sameWorkload ??= ['kind', 'mode', ...identityOptions()]);
}

/** How two results' workloads differ ("bs 4096 vs 8192"); empty when they ran the same workload. */
export function workloadDifferences(b: TargetResult, c: TargetResult): string[] {
  const bo: Record<string, unknown> = { kind: b.kind, ...(b.options as Record<string, unknown>) };
  const co: Record<string, unknown> = { kind: c.kind, ...(c.options as Record<string, unknown>) };
  return sameWorkloadKeys().filter((k) => JSON.stringify(bo[k]) !== JSON.stringify(co[k])).map((k) => `${k} ${JSON.stringify(bo[k])} vs ${JSON.stringify(co[k])}`);
}
