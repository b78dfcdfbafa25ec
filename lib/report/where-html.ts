// The report's split by layer (--where): per workload, a stacked bar per target of the p50 band
// and of the slowest 1 % (device, host kernel, boundary), and a table of the counts per operation,
// each figure the median over repetitions of the metric registry's layer and count metrics.
import type { Row } from '../compare/compare';
import { formatMetric, metricDef, metricDefs, type Metric } from '../compare/metrics';
import { escapeXml } from './escape';
import { hbars } from './cost-html';
import { rowMedian } from './where-text';

const LAYERS: [string, string, string][] = [['device', 'device', '#1971c2'], ['host kernel', 'host_kernel', '#f08c00'], ['boundary', 'boundary', '#c2255c']];

/** One band's stacked bars, a bar per target that was traced. */
function bandBars(rows: Row[], band: 'p50' | 'slowest1', caption: string): string {
  const bars = rows.map((r) => {
    const med = rowMedian(r);
    const parts = LAYERS.map(([label, key, colour]) => [label, med(`${key}_${band}`), colour] as [string, number, string]);
    return { label: r.target, parts: parts.every((p) => Number.isFinite(p[1])) ? parts : [] };
  });
  const total = (r: Row) => LAYERS.reduce((a, [, key]) => a + rowMedian(r)(`${key}_${band}`), 0);
  const shares = rows.filter((r) => total(r) > 0).map((r) => `${r.target}: ${LAYERS.map(([label, key]) => `${label} ${Math.round((rowMedian(r)(`${key}_${band}`) / total(r)) * 100)} %`).join(', ')}`);
  return hbars(bars, (v) => formatMetric('device_p50', v), `${caption} (${shares.join('; ')})`, `where-chart where-${band}`);
}

/** The counts per operation: a row per traced target, a column per count of the registry. */
function countsTable(rows: Row[]): string {
  const counts = metricDefs().filter((d) => d.thresholdClass === 'count' && d.kinds.includes('block')).map((d) => d.name as Metric);
  const traced = rows.filter((r) => counts.some((m) => r.values[m]?.length));
  if (!traced.length) return '';
  const head = counts.map((m) => `<th title="${escapeXml(metricDef(m).title)}">${escapeXml(m.replace(/_per_op$/, '').replace(/_/g, ' '))}</th>`).join('');
  const body = traced.map((r) => `<tr><td>${escapeXml(r.target)}</td>${counts.map((m) => `<td>${escapeXml(formatMetric(m, rowMedian(r)(m)))}</td>`).join('')}</tr>`).join('');
  return `<table class="where-counts"><caption>mechanism counts per operation over the measured window (median over repetitions)</caption><tr><th>target</th>${head}</tr>${body}</table>`;
}

/** The workload's figures, or '' when none of its results was traced. */
export function whereHtml(rows: Row[]): string {
  if (!rows.some((r) => r.values.device_p50?.length)) return '';
  const untraced = rows.filter((r) => r.n && !r.values.device_p50?.length).map((r) => r.target);
  return `<h3>Where the time goes</h3>
${bandBars(rows, 'p50', 'the p50 band of operations: each layer\'s mean time in the band, the median over repetitions')}
${bandBars(rows, 'slowest1', 'the slowest 1 % of operations, likewise (a scale of its own)')}
${countsTable(rows)}${untraced.length ? `<p class="where-none">not split: ${escapeXml(untraced.join(', '))} (not traced: run with --where; attribution is built for block and request/response workloads)</p>` : ''}`;
}
