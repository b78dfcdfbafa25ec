// OpenMetrics text of a stored run: one gauge family per metric of the metric list, labelled
// target, workload, metric and node, in base units, for a node_exporter textfile collector.
import type { MetricDef } from '../compare/metrics';
import type { Measure } from './measures';

/** Prometheus names values in base units: each of the metric list's units, converted. */
const BASE: Record<MetricDef['unit'], { unit: string; scale: number }> = {
  ns: { unit: 'seconds', scale: 1e-9 },
  ms: { unit: 'seconds', scale: 1e-3 },
  MiB: { unit: 'bytes', scale: 2 ** 20 },
  'Gbit/s': { unit: 'bytes_per_second', scale: 1e9 / 8 },
  'ops/s': { unit: '', scale: 1 },
  'ops/CPU-s': { unit: '', scale: 1 },
  ratio: { unit: 'ratio', scale: 1 },
};

/** The family's name: isoprobe_ + the metric's name (its own unit word dropped) + the base unit. */
export function familyName(def: MetricDef): string {
  const base = BASE[def.unit].unit;
  const stem = def.name.replace(/[^A-Za-z0-9_]/g, '_').replace(/_(ms|mib)$/, '').replace(/_s$/, '_second');  // promtool refuses abbreviated units
  return `isoprobe_${stem}${base ? `_${base}` : ''}`;
}

function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** The exposition: HELP, TYPE and UNIT per family, a sample per target and workload, then # EOF. */
export function openMetrics(measures: Measure[], node: string): string {
  const lines: string[] = [];
  const defs = [...new Set(measures.map((m) => m.metric))];
  for (const def of defs) {
    const name = familyName(def);
    const { unit, scale } = BASE[def.unit];
    lines.push(`# TYPE ${name} gauge`);
    if (unit) lines.push(`# UNIT ${name} ${unit}`);
    lines.push(`# HELP ${name} ${label(`${def.title} (${def.better} is better; median of the run's repetitions)`)}`);
    for (const m of measures.filter((x) => x.metric === def)) {
      const labels = `target="${label(m.target)}",workload="${label(m.workload)}",metric="${label(def.name)}",node="${label(node)}"`;
      lines.push(`${name}{${labels}} ${m.interval.estimate * scale}`);
    }
  }
  lines.push('# EOF');
  return lines.join('\n');
}
