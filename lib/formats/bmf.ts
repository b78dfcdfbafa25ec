// Bencher Metric Format of a stored run: { benchmark: { measure: { value, lower_value, upper_value } } },
// a benchmark per workload and target, a measure per metric of the metric list, with the
// bootstrap interval of the compare summary as its bounds.
import type { Measure } from './measures';

export interface BmfMetric {
  value: number;
  lower_value?: number;
  upper_value?: number;
}

/** The benchmark's name: the workload on the target ("randread-4k-qd1/runc"). */
export function benchmarkName(workload: string, target: string): string {
  return `${workload}/${target}`;
}

export function bmf(measures: Measure[]): Record<string, Record<string, BmfMetric>> {
  const out: Record<string, Record<string, BmfMetric>> = {};
  for (const m of measures) {
    const b = (out[benchmarkName(m.workload, m.target)] ??= {});
    const { estimate, low, high } = m.interval;
    const v: BmfMetric = { value: estimate };
    // One repetition (or an interval the bootstrap could not give) has no bounds: none is written.
    if (Number.isFinite(low) && Number.isFinite(high) && m.values.length > 1) {
      v.lower_value = Math.min(low, estimate);
      v.upper_value = Math.max(high, estimate);
    }
    b[measureName(m.metric.name, m.metric.unit)] = v;
  }
  return out;
}

/** A measure's name: the metric's, with its unit where the name does not say it (p50_ns, startup_ms). */
export function measureName(name: string, unit: string): string {
  const u = ['ns', 'ms', 'MiB'].includes(unit) && !name.toLowerCase().endsWith(unit.toLowerCase()) ? `_${unit.toLowerCase()}` : '';
  return `${name}${u}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}
