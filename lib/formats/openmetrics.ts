// OpenMetrics text of a stored run: one gauge family per metric of the metric list, labelled
// target, workload, metric and node, in base units, for a node_exporter textfile collector.
import type { MetricDef } from '../compare/metrics';
import type { Measure } from './measures';

/** Prometheus names values in base units: each of the metric list's units, converted. */
const BASE: Record<string, { unit: string; scale: number }> = {
  ns: { unit: 'seconds', scale: 1e-9 },
  ms: { unit: 'seconds', scale: 1e-3 },
  MiB: { unit: 'bytes', scale: 2 ** 20 },
  'Gbit/s': { unit: 'bytes_per_second', scale: 1e9 / 8 },
  IOPS: { unit: '', scale: 1 },
  'tx/s': { unit: '', scale: 1 },
  'pkt/s': { unit: '', scale: 1 },
  '%': { unit: 'ratio', scale: 0.01 },
  '/op': { unit: '', scale: 1 },
  '/tx': { unit: '', scale: 1 },
  '': { unit: '', scale: 1 },
  '/CPU-s': { unit: '', scale: 1 },
  x: { unit: 'ratio', scale: 1 },
};

/** A metric's base unit and scale; a unit this table lacks is isoprobe's bug, said at once. */
function baseOf(def: MetricDef): { unit: string; scale: number } {
  const b = BASE[def.unit];
  if (!b) throw new Error(`openmetrics: no base unit for ${def.name}'s unit "${def.unit}" (lib/formats/openmetrics.ts BASE)`);
  return b;
}

/** The family's name: isoprobe_ + the metric's name (its own unit word dropped) + the base unit. */
export function familyName(def: MetricDef): string {
  const base = baseOf(def).unit;
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
    const { unit, scale } = baseOf(def);
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
