// A stored run's figures per target, workload and metric: the median over its repetitions with the
// bootstrap interval the compare summary computes, read through the one metric list (metrics.ts).
import type { Cell } from '../compare/compare';
import { METRIC_DEFS, type MetricDef } from '../compare/metrics';
import type { RunRow } from '../store/db';
import { bootstrap, type Interval } from '../stats/resample';

export interface Measure {
  target: string;
  workload: string;
  metric: MetricDef;
  /** One value per repetition that has the metric. */
  values: number[];
  interval: Interval;
}

/** Every metric each cell's results have (a metric none of them has is left out, never zero). */
export function measuresOf(cells: Cell[]): Measure[] {
  const out: Measure[] = [];
  for (const c of cells) {
    if (!c.results.length) continue;
    for (const def of METRIC_DEFS as readonly MetricDef[]) {
      if (!def.kinds.length) continue;  // a sweep's knee is not a figure of one result
      const values = c.results.map((r) => def.value(r)).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
      if (!values.length) continue;
      out.push({ target: c.target, workload: c.workload, metric: def, values, interval: bootstrap(values) });
    }
  }
  return out;
}

/** The node a run measured on: its fleet node's name, else the host it ran on. */
export function nodeOf(run: RunRow): string {
  const m = JSON.parse(run.machine) as { node?: string; hostname?: string };
  return m.node ?? m.hostname ?? 'unknown';
}
