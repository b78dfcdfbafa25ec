// One self-contained HTML file per comparison: latency CDFs overlaid per target, latency
// histograms, rate bars with confidence intervals, the full stack of every target, the machine.
// Charts are inline SVG drawn here; the page loads nothing from anywhere.
import { verdictLines } from './verdict-text';
import { ciOf, type Comparison, rateOf, type Row, type WorkloadSummary } from '../compare/compare';
import { KINDS } from '../compare/kinds';
import { bucketHigh, bucketLow } from '../stats/histogram';
import type { HistogramJson } from '../probe/types';
import { formatNs } from '../units';
import { escapeXml } from './escape';
import { columnHead, columnsOf, formatMetric, type Metric, metricDef, rateMetric } from '../compare/metrics';
import { columnShown } from './compare-text';
import { whereHtml } from './where-html';
import { rowMedian } from './where-text';
import { hostCpuSvg, startupMemorySvg } from './cost-html';

/** A target keeps one colour in every chart of a workload: its place among all the rows, failed ones included. */
const colour = (rows: Row[], r: Row) => COLORS[rows.indexOf(r) % COLORS.length]!;
const COLORS = ['#1b6ac9', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285', '#c92a2a', '#5c940d', '#495057', '#a61e4d', '#364fc7'];


const fmtNs = (ns: number) => formatNs(ns, { compact: true });

/** CDF points (value, cumulative fraction) from a sparse histogram, one per bucket. */
export function cdfPoints(h: HistogramJson): [number, number][] {
  let seen = 0;
  return h.buckets.map(([i, c]) => {
    seen += c;
    return [Math.min(h.max, Math.max(h.min, (bucketLow(i) + bucketHigh(i)) / 2)), seen / h.count];
  });
}

function cdfSvg(rows: Row[]): string {
  const series = rows.filter((r) => r.histogram && r.histogram.count);
  if (!series.length) return '';
  const W = 640, H = 300, L = 60, B = 40, T = 10, R = 10;
  const lo = Math.max(1, Math.min(...series.map((r) => r.histogram!.min)));
  const hi = Math.max(...series.map((r) => r.histogram!.max), lo * 10);
  const x = (v: number) => L + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (W - L - R);
  const y = (f: number) => T + (1 - f) * (H - T - B);
  const ticks: string[] = [];
  for (let d = Math.ceil(Math.log10(lo)); d <= Math.floor(Math.log10(hi)); d++) {
    const v = 10 ** d;
    ticks.push(`<line x1="${x(v)}" y1="${T}" x2="${x(v)}" y2="${H - B}" class="grid"/><text x="${x(v)}" y="${H - B + 16}" text-anchor="middle">${fmtNs(v)}</text>`);
  }
  for (const f of [0, 0.5, 0.9, 1]) ticks.push(`<line x1="${L}" y1="${y(f)}" x2="${W - R}" y2="${y(f)}" class="grid"/><text x="${L - 6}" y="${y(f) + 4}" text-anchor="end">${f}</text>`);
  const lines = series.map((r) => {
    const pts = cdfPoints(r.histogram!).map(([v, f]) => `${x(v).toFixed(1)},${y(f).toFixed(1)}`).join(' ');
    return `<polyline class="cdf" points="${pts}" fill="none" stroke="${colour(rows, r)}" stroke-width="2"><title>${escapeXml(r.target)}</title></polyline>`;
  });
  const legend = series.map((r) => `<span class="key"><i style="background:${colour(rows, r)}"></i>${escapeXml(r.target)}${r.emulated ? ' (emulated)' : ''}</span>`).join(' ');
  return `<figure><svg class="chart cdf-chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="latency CDF">${ticks.join('')}${lines.join('')}<text x="${(W + L) / 2}" y="${H - 6}" text-anchor="middle">latency (log scale), all repetitions</text></svg><figcaption>${legend}</figcaption></figure>`;
}

function histogramSvg(r: Row, color: string): string {
  const h = r.histogram;
  if (!h || !h.count) return '';
  // Regroup the fine buckets into ~40 log-spaced bars for the eye.
  const lo = Math.max(1, h.min), hi = Math.max(h.max, lo + 1);
  const bins = 40;
  const counts = new Array<number>(bins).fill(0);
  for (const [i, c] of h.buckets) {
    const v = (bucketLow(i) + bucketHigh(i)) / 2;
    const b = Math.min(bins - 1, Math.max(0, Math.floor(((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo) || 1)) * bins)));
    counts[b] += c;
  }
  const W = 300, H = 120, max = Math.max(...counts);
  const bw = W / bins;
  const bars = counts.map((c, i) => `<rect class="bar" x="${(i * bw).toFixed(1)}" y="${(H - 20 - (c / max) * (H - 30)).toFixed(1)}" width="${(bw - 1).toFixed(1)}" height="${((c / max) * (H - 30)).toFixed(1)}" fill="${color}"/>`);
  return `<figure class="small"><svg class="chart hist-chart" viewBox="0 0 ${W} ${H}">${bars.join('')}<text x="0" y="${H - 4}">${fmtNs(lo)}</text><text x="${W}" y="${H - 4}" text-anchor="end">${fmtNs(hi)}</text></svg><figcaption>${escapeXml(r.target)}: ${h.count.toLocaleString('en-US')} operations</figcaption></figure>`;
}

function barsSvg(rows: Row[]): string {
  const ok = rows.filter((r) => Number.isFinite(rateOf(r).ci.estimate));
  if (!ok.length) return '';
  const W = 640, rowH = 28, L = 150, R = 120;
  const H = ok.length * rowH + 20;
  const max = Math.max(...ok.map((r) => { const i = rateOf(r).ci; return Number.isFinite(i.high) ? i.high : i.estimate; })) * 1.05;
  const x = (v: number) => L + (v / max) * (W - L - R);
  const items = ok.map((r, i) => {
    const yy = 10 + i * rowH;
    const c = colour(rows, r);
    const { metric, ci } = rateOf(r);
    const whisker = Number.isFinite(ci.low) ? `<line class="ci" x1="${x(ci.low)}" y1="${yy + 10}" x2="${x(ci.high)}" y2="${yy + 10}" stroke="#000"/><line x1="${x(ci.low)}" y1="${yy + 4}" x2="${x(ci.low)}" y2="${yy + 16}" stroke="#000"/><line x1="${x(ci.high)}" y1="${yy + 4}" x2="${x(ci.high)}" y2="${yy + 16}" stroke="#000"/>` : '';
    return `<text x="${L - 8}" y="${yy + 14}" text-anchor="end">${escapeXml(r.target)}${r.emulated ? ' *' : ''}</text><rect class="bar" x="${L}" y="${yy + 2}" width="${(x(ci.estimate) - L).toFixed(1)}" height="16" fill="${c}"/>${whisker}<text x="${W - R + 6}" y="${yy + 14}">${escapeXml(formatMetric(metric!, ci.estimate))}</text>`;
  });
  return `<figure><svg class="chart bar-chart" viewBox="0 0 ${W} ${H}">${items.join('')}</svg><figcaption>median over repetitions, whiskers: bootstrap 95 % interval${ok.some((r) => r.emulated) ? '; * emulated (TCG)' : ''}</figcaption></figure>`;
}

/** A workload's table: the registry's columns of its kind (metrics.ts), the ratio after the rate. */
function summaryTable(s: WorkloadSummary): string {
  const ms = columnsOf(s.kind, { html: true }).filter((m) => columnShown(m, s.rows));
  const cell = (r: Row, m: Metric) => { const f = metricDef(m).column?.cell; return f ? f(rowMedian(r), true) : formatMetric(m, ciOf(r, m).estimate); };
  const heads = ms.flatMap((m) => [`<th title="${escapeXml(metricDef(m).title)}">${escapeXml(columnHead(m, s.kind!, true))}</th>`, ...(m === rateMetric(s.kind!) ? ['<th>ratio [95 % CI]</th>'] : [])]);
  const ratio = (r: Row) => (r.ratio ? `${r.ratio.estimate.toFixed(3)} [${r.ratio.low.toFixed(3)}, ${r.ratio.high.toFixed(3)}]` : r.baseline ? 'baseline' : '-');
  const name = (r: Row) => `<td>${escapeXml(r.target)}${r.emulated ? ' <b class="emu">EMULATED</b>' : ''}</td>`;
  const rows = s.rows.map((r) => !r.n
    ? `<tr class="failed">${name(r)}<td colspan="${heads.length + 2}">failed: ${escapeXml(r.error ?? 'no results')}</td></tr>`
    : `<tr>${name(r)}${ms.map((m) => `<td${metricDef(m).column?.cell ? ' class="nowrap"' : ''}>${escapeXml(cell(r, m))}</td>${m === rateMetric(s.kind!) ? `<td>${ratio(r)}</td>` : ''}`).join('')}<td class="cache-${escapeXml(r.hostCache)}">${escapeXml(r.hostCache)}</td><td>${r.error ? escapeXml(r.error) : ''}</td></tr>`).join('');
  return `<table><tr><th>target</th>${heads.join('')}<th>host page cache</th><th></th></tr>${rows}</table>`;
}

export function renderHtml(c: Comparison, env: Record<string, unknown>, title = 'isoprobe report', lead = ''): string {
  const sections = c.summaries.map((s) => {
    const hist = s.rows.map((r) => histogramSvg(r, colour(s.rows, r))).join('');
    const cells = c.targets.map((t) => c.cells.find((x) => x.target === t && x.workload === s.workload)!).filter(Boolean);
    return `<section><h2>${escapeXml(s.workload)} <small>${escapeXml(s.kind ?? 'nothing measured')}</small></h2>
${summaryTable(s)}
${barsSvg(s.rows)}${whereHtml(s.rows, s.kind)}${s.kind ? hostCpuSvg(cells, KINDS[s.kind].op.word) : ''}${cdfSvg(s.rows)}<div class="hists">${hist}</div></section>`;
  });
  const cost = startupMemorySvg(c.cells, c.targets);
  const stacks = Object.entries(c.stacks).map(([t, st]) => `<h3>${escapeXml(t)}</h3><pre>${escapeXml(JSON.stringify(st, null, 2))}</pre>`).join('');
  const verdict = verdictLines(c);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeXml(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#212529;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #dee2e6}h2 small{color:#868e96;font-weight:normal}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .7em;border-bottom:1px solid #e9ecef;text-align:left}
.chart{width:100%;height:auto}.chart text{font-size:11px;fill:#495057}.grid{stroke:#e9ecef}
figure{margin:1em 0}figcaption{color:#495057;font-size:12px}.key i{display:inline-block;width:12px;height:12px;margin:0 4px 0 10px}
.nowrap{white-space:nowrap}.where-counts caption{text-align:left;color:#495057;font-size:12px}.where-none{color:#868e96}
.hists{display:flex;flex-wrap:wrap;gap:8px}.small{width:300px}.emu{color:#c92a2a}.cache-used{color:#c92a2a;font-weight:bold}
pre{background:#f8f9fa;padding:.7em;overflow:auto;font-size:12px}.warn{background:#fff3bf;padding:.5em 1em}
</style></head><body>
<h1>${escapeXml(title)}</h1>
<p>Suite <b>${escapeXml(c.suite)}</b>, ${c.reps} repetitions per target and workload, interleaved in shuffled order; targets ${escapeXml(c.targets.join(', '))}${c.runId ? `; run ${c.runId}` : ''}. Latency is per operation (block) or the full round trip (network); medians over repetitions with bootstrap 95 % intervals.</p>
${verdict.length ? `<section class="verdict"><pre>${escapeXml(verdict.join('\n'))}</pre></section>` : ''}
${lead}
${sections.join('\n')}
${c.warnings.length ? `<section><h2>Warnings</h2><div class="warn">${c.warnings.map((w) => `<p>${escapeXml(w)}</p>`).join('')}</div></section>` : ''}
${cost ? `<section><h2>Start-up and memory</h2>${cost}</section>` : ''}
<section><h2>Stacks</h2>${stacks}</section>
<section><h2>Environment</h2><pre>${escapeXml(JSON.stringify(env, null, 2))}</pre></section>
</body></html>
`;
}
