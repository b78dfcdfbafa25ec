// The report's split by layer (--where): per workload, a stacked bar per target of the p50 band
// and of the slowest 1 % (block: device, host kernel, boundary; RR: host path, server, boundary),
// and a table of the counts per operation, each figure the median over repetitions of the metric
// registry's layer and count metrics of the workload's kind.
import type { Row } from '../compare/compare';
import { KINDS, type ResultKind } from '../compare/kinds';
import { formatMetric, metricDef, metricDefs, type Metric, type WhereSplit, whereSplit } from '../compare/metrics';
import { escapeXml } from './escape';
import { hbars } from './cost-html';
import { rowMedian } from './where-text';

const COLOURS = ['#1971c2', '#f08c00', '#c2255c'];

/** One band's stacked bars, a bar per target that was traced. */
function bandBars(rows: Row[], split: WhereSplit, band: 'p50' | 'slowest1', caption: string): string {
  const layers = split.layers.map((l, i) => [l.label, `${l.stem}_${band}`, COLOURS[i]!] as const);
  const bars = rows.map((r) => {
    const med = rowMedian(r);
    const parts = layers.map(([label, m, colour]) => [label, med(m), colour] as [string, number, string]);
    return { label: r.target, parts: parts.every((p) => Number.isFinite(p[1])) ? parts : [] };
  });
  const total = (r: Row) => layers.reduce((a, [, m]) => a + rowMedian(r)(m), 0);
  const shares = rows.filter((r) => total(r) > 0).map((r) => `${r.target}: ${layers.map(([label, m]) => `${label} ${Math.round((rowMedian(r)(m) / total(r)) * 100)} %`).join(', ')}`);
  return hbars(bars, (v) => formatMetric(layers[0]![1] as Metric, v), `${caption} (${shares.join('; ')})`, `where-chart where-${band}`);
}

/** The counts per operation: a row per traced target, a column per count of the registry for the kind. */
function countsTable(rows: Row[], kind: ResultKind): string {
  const counts = metricDefs().filter((d) => d.traced && d.thresholdClass === 'count' && d.kinds.includes(kind)).map((d) => d.name as Metric);
  const traced = rows.filter((r) => counts.some((m) => r.values[m]?.length));
  if (!traced.length) return '';
  const head = counts.map((m) => `<th title="${escapeXml(metricDef(m).title)}">${escapeXml(m.replace(/_per_(op|tx)$/, '').replace(/_/g, ' '))}</th>`).join('');
  const body = traced.map((r) => `<tr><td>${escapeXml(r.target)}</td>${counts.map((m) => `<td>${escapeXml(formatMetric(m, rowMedian(r)(m)))}</td>`).join('')}</tr>`).join('');
  return `<table class="where-counts"><caption>mechanism counts per ${KINDS[kind].op.word} over the measured window (median over repetitions)</caption><tr><th>target</th>${head}</tr>${body}</table>`;
}

/** The workload's figures, or '' when none of its results was traced (or its kind has no split). */
export function whereHtml(rows: Row[], kind: ResultKind | undefined): string {
  const split = whereSplit(kind);
  if (!split) return '';
  const p50 = `${split.layers[0].stem}_p50` as Metric;
  const counts = countsTable(rows, kind!);
  if (!rows.some((r) => r.values[p50]?.length) && !counts) return '';
  const untraced = rows.filter((r) => r.n && !r.values[p50]?.length).map((r) => r.target);
  const ops = `${KINDS[kind!].op.word}s`;
  return `<h3>Where the time goes</h3>
${bandBars(rows, split, 'p50', `the p50 band of ${ops}: each layer's mean time in the band, the median over repetitions`)}
${bandBars(rows, split, 'slowest1', `the slowest 1 % of ${ops}, likewise (a scale of its own)`)}
${counts}${untraced.length ? `<p class="where-none">not split: ${escapeXml(untraced.join(', '))} (not traced: run with --where; or no split could be made there: the text report says why)</p>` : ''}`;
}
