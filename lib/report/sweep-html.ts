// A sweep's curves in the report: per sweep, throughput on x and latency on y (log scale), p50
// solid and p99 dashed, a line per target, the knee circled and labelled.
import type { Curve } from '../compare/load-sweep';
import { compactInterval, plainScale } from '../compare/metric-format';
import { metricDef } from '../compare/metrics';
import { formatNs } from '../units';
import { escapeXml } from './escape';

const COLOURS = ['#1b6ac9', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285'];

/** A throughput as its metric writes it compactly (metrics.ts): "12.3k", "9.41". */
function fmtRate(v: number, c: Curve): string {
  return compactInterval({ estimate: v, low: NaN, high: NaN, level: 0.95 }, (c.metric && metricDef(c.metric).scale) || plainScale);
}

/** The curve chart; '' when no point measured a latency (a stream sweep has throughput only). */
export function curvesSvg(curves: Curve[], param: string, rule: string): string {
  const pts = curves.flatMap((c) => c.points.filter((p) => Number.isFinite(p.throughput.estimate) && Number.isFinite(p.p99.estimate)));
  if (!pts.length) return '';
  const W = 640, H = 340, L = 64, R = 20, T = 16, B = 44;
  const xMax = Math.max(...pts.map((p) => p.throughput.estimate)) * 1.05 || 1;
  const lats = pts.flatMap((p) => [p.p50.estimate, p.p99.estimate]).filter((v) => v > 0);
  const yLo = Math.log10(Math.min(...lats) / 1.5), yHi = Math.log10(Math.max(...lats) * 1.5);
  const x = (v: number) => L + (v / xMax) * (W - L - R);
  const y = (ns: number) => T + (1 - (Math.log10(ns) - yLo) / (yHi - yLo || 1)) * (H - T - B);
  const grid: string[] = [];
  for (let e = Math.ceil(yLo); e <= Math.floor(yHi); e++)
    grid.push(`<line class="grid" x1="${L}" x2="${W - R}" y1="${y(10 ** e)}" y2="${y(10 ** e)}"/><text x="${L - 6}" y="${y(10 ** e) + 4}" text-anchor="end">${formatNs(10 ** e, { compact: true })}</text>`);
  for (let i = 0; i <= 4; i++) grid.push(`<text x="${x((xMax * i) / 4)}" y="${H - B + 16}" text-anchor="middle">${fmtRate((xMax * i) / 4, curves[0]!)}</text>`);
  const lines = curves.map((c, ci) => {
    const col = COLOURS[ci % COLOURS.length]!;
    const ok = c.points.map((p, i) => ({ p, i })).filter(({ p }) => Number.isFinite(p.throughput.estimate) && p.p99.estimate > 0);
    const path = (k: 'p50' | 'p99') => ok.map(({ p }, j) => `${j ? 'L' : 'M'}${x(p.throughput.estimate).toFixed(1)},${y(p[k].estimate).toFixed(1)}`).join('');
    const dots = ok.map(({ p }) => `<circle cx="${x(p.throughput.estimate).toFixed(1)}" cy="${y(p.p99.estimate).toFixed(1)}" r="2.5" fill="${col}"><title>${escapeXml(`${c.target} ${param}=${p.value}: ${fmtRate(p.throughput.estimate, c)} ${c.unit}, p50 ${formatNs(p.p50.estimate)}, p99 ${formatNs(p.p99.estimate)}`)}</title></circle>`).join('');
    const k = c.knee !== undefined ? c.points[c.knee]! : undefined;
    // The label on the side of the point with room for it.
    const kx = k ? x(k.throughput.estimate) : 0;
    const right = kx < W - 130;
    const knee = k ? `<circle class="knee" cx="${kx.toFixed(1)}" cy="${y(k.p99.estimate).toFixed(1)}" r="7" fill="none" stroke="${col}" stroke-width="2"/><text x="${(right ? kx + 9 : kx - 9).toFixed(1)}" y="${(y(k.p99.estimate) - 9).toFixed(1)}" text-anchor="${right ? 'start' : 'end'}" fill="${col}">knee ${escapeXml(param)}=${escapeXml(String(k.value))}</text>` : '';
    return `<path d="${path('p50')}" fill="none" stroke="${col}" stroke-width="2"/><path d="${path('p99')}" fill="none" stroke="${col}" stroke-width="2" stroke-dasharray="5 3"/>${dots}${knee}`;
  });
  const key = curves.map((c, i) => `<i style="background:${COLOURS[i % COLOURS.length]}"></i>${escapeXml(c.target)}`).join('');
  return `<figure><svg class="chart sweep" viewBox="0 0 ${W} ${H}" role="img" aria-label="latency against throughput">${grid.join('')}
<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#868e96"/><text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">throughput (${escapeXml(curves[0]!.unit)})</text>
<text x="14" y="${(T + H - B) / 2}" transform="rotate(-90 14 ${(T + H - B) / 2})" text-anchor="middle">latency (log)</text>${lines.join('')}</svg>
<figcaption class="key">${key} &nbsp; p50 solid, p99 dashed; the circled point is the knee: ${escapeXml(rule)}.</figcaption></figure>`;
}

/** The sweep's own section, placed before the per-point sections of the report. */
export function sweepSection(curves: Curve[], param: string, rule: string, what: string): string {
  const rows = curves.flatMap((c) => c.points.map((p, i) => `<tr${c.knee === i ? ' class="knee"' : ''}><td>${escapeXml(c.target)}</td><td>${escapeXml(String(p.value))}</td><td>${Number.isFinite(p.throughput.estimate) ? `${fmtRate(p.throughput.estimate, c)} ${escapeXml(c.unit)}` : '-'}</td><td>${Number.isFinite(p.p50.estimate) ? formatNs(p.p50.estimate) : '-'}</td><td>${Number.isFinite(p.p99.estimate) ? formatNs(p.p99.estimate) : '-'}</td><td>${c.knee === i ? 'knee' : ''}</td></tr>`)).join('');
  return `<section><h2>Load-latency: ${escapeXml(what)}, ${escapeXml(param)} swept</h2>${curvesSvg(curves, param, rule)}
<table><tr><th>target</th><th>${escapeXml(param)}</th><th>throughput</th><th>p50</th><th>p99</th><th></th></tr>${rows}</table></section>`;
}
