// The gate's knee cells: two sweeps compared by where each target's curve bends, besides point
// by point. A side is a sweep when its workloads are all points of one parameter ("qd=4"); each
// repetition's curve gives one knee throughput (stats/knee.ts), so the knee is tested like any
// cell, across repetitions, under the same family-wise control.
import { kneeIndex } from '../stats/knee';
import type { TargetResult } from '../targets/types';
import type { Side } from './ab';
import { metricOrNaN } from './ab';
import { servedRate } from './load-sweep';
import { rateMetric } from './metrics';

export interface KneeCell {
  workload: string;
  target: string;
  candidateTarget: string;
  metric: 'knee_throughput';
  baseline: number[];
  candidate: number[];
}

/** "qd" when every workload of the side is "qd=<value>", in value order; else undefined. */
export function sweptParam(side: Side): { param: string; points: string[] } | undefined {
  const names = [...side.results.keys()];
  const m = names.map((n) => /^([a-z_]+)=(.+)$/.exec(n));
  if (names.length < 2 || m.some((x) => !x) || new Set(m.map((x) => x![1])).size !== 1) return undefined;
  const value = (n: string) => Number(n.slice(n.indexOf('=') + 1));
  const points = [...names].sort((a, b) => (Number.isFinite(value(a)) && Number.isFinite(value(b)) ? value(a) - value(b) : a.localeCompare(b)));
  return { param: m[0]![1]!, points };
}

/** What a point served: an open loop's replies inside the window, else its rate metric. */
function throughputOf(r: TargetResult): number {
  return servedRate(r) ?? metricOrNaN(r, rateMetric(r.kind));
}

/** The knee throughput of each repetition of one target's curve (NaN where a point is missing). */
function kneesOf(side: Side, points: string[], target: string): number[] {
  const byRep = points.map((p) => {
    const slots: (TargetResult | undefined)[] = [];
    (side.results.get(p)?.get(target) ?? []).forEach((r, i) => (slots[side.reps?.get(r) ?? i] = r));
    return slots;
  });
  const reps = Math.max(0, ...byRep.map((s) => s.length));
  return Array.from({ length: reps }, (_, i) => {
    const curve = byRep.map((s) => s[i]);
    if (curve.some((r) => !r)) return NaN;
    const k = kneeIndex(curve.map((r) => ({ throughput: throughputOf(r!), p99: metricOrNaN(r!, 'p99') })));
    return k === undefined ? NaN : throughputOf(curve[k]!);
  });
}

/** A knee cell per target pair when both sides are sweeps of the same parameter over the same points. */
export function kneeCells(b: Side, c: Side, pairs: { tb: string; tc: string }[]): KneeCell[] {
  const sb = sweptParam(b);
  const sc = sweptParam(c);
  if (!sb || !sc || sb.param !== sc.param || sb.points.join() !== sc.points.join()) return [];
  const seen = new Set<string>();
  const out: KneeCell[] = [];
  for (const { tb, tc } of pairs) {
    if (seen.has(`${tb}>${tc}`)) continue;
    seen.add(`${tb}>${tc}`);
    out.push({ workload: `knee (${sb.param})`, target: tb, candidateTarget: tc, metric: 'knee_throughput', baseline: kneesOf(b, sb.points, tb), candidate: kneesOf(c, sc.points, tc) });
  }
  return out;
}
