// The trend report: each metric of each workload x target across every stored run, in time order,
// with its 95 % band, the part of the stack that changed between consecutive runs named on the
// chart, and change points found over the whole history (binary segmentation with a permutation
// test, stats/changepoint.ts), each confirmed by the A/B gate's test between the runs either side.
import { higherIsWorse, type Metric, metricOrNaN } from '../compare/ab';
import { gateVerdict, simultaneousChange, thresholdOf } from '../compare/gate';
import { appliesTo, formatMetric, gatedMetrics } from '../compare/metrics';
import { storedResult } from '../compare/kinds';
import { changePoints } from '../stats/changepoint';
import { maxT } from '../stats/maxt';
import { bootstrap, type Interval, median } from '../stats/resample';
import type { Store } from '../store/db';
import type { StackInfo, TargetResult } from '../targets/types';
import { escapeXml } from './escape';

export interface TrendPoint {
  run: number;
  started_at: string;
  values: number[];
  band: Interval;
  /** What differs from the previous run's stack (probe, runtime, kernel, VMM, settings). */
  changed: string[];
  /** A change point of the history at this run, confirmed by the gate's test and threshold. */
  changePoint?: 'regression' | 'improvement';
  /** The gate's adjusted p between the runs either side (the direction it moved). */
  p?: number;
  /** The change point's own p within the history (binary segmentation's permutation test). */
  historyP?: number;
}

/**
 * Resamples of each run's band: a chart's band, not a decision (those are the gate's), so 400
 * (the default 4,000 took 10 of the 11 s of a 200-run, 30-series trend).
 */
const BAND_RESAMPLES = 400;

/** How many runs on each side of a change point the gate's test compares, their repetitions pooled. */
export const CONFIRM_RUNS = 5;

export interface TrendSeries {
  workload: string;
  target: string;
  metric: Metric;
  host: string;
  points: TrendPoint[];
}

/** The facts of a stack worth naming when they change between runs. */
function facts(s: StackInfo | undefined, r: TargetResult): Record<string, string> {
  const env = r.env as Partial<typeof r.env> | undefined;
  return {
    probe: (r.probe?.sha256 ?? '').slice(0, 12),
    runtime: s?.runtime_version ?? '',
    'guest kernel': s?.resolved?.kernel_sha256?.slice(0, 12) ?? '',
    'guest kernel version': s?.kind === 'vm' ? env?.kernel ?? '' : '',
    vmm: s?.resolved?.vmm_sha256?.slice(0, 12) ?? '',
    settings: s?.settings ? JSON.stringify(s.settings) : '',
    seccomp: s?.seccomp ?? '',
    'host kernel': s?.kind !== 'vm' ? env?.kernel ?? '' : '',
  };
}

export function trendSeries(store: Store, o: { targets?: string[]; workloads?: string[]; metrics?: Metric[]; threshold: number; alpha: number }): TrendSeries[] {
  const runs = store.runs(100_000).filter((r) => r.status === 'complete').sort((a, b) => a.started_at.localeCompare(b.started_at) || a.id - b.id);
  const series = new Map<string, TrendSeries>();
  const lastFacts = new Map<string, Record<string, string>>();
  for (const run of runs) {
    const host = String((JSON.parse(run.machine) as { hostname?: string }).hostname ?? '');
    const byCell = new Map<string, TargetResult[]>();
    for (const row of store.results(run.id)) {
      if (o.targets && !o.targets.includes(row.target)) continue;
      if (o.workloads && !o.workloads.includes(row.workload)) continue;
      const k = `${row.workload}\u0000${row.target}`;
      if (!byCell.has(k)) byCell.set(k, []);
      byCell.get(k)!.push(storedResult(row.json));
    }
    for (const [k, rs] of byCell) {
      const [workload, target] = k.split('\u0000') as [string, string];
      const f = facts(rs[0]!.target, rs[0]!);
      const prevFacts = lastFacts.get(`${k}\u0000${host}`);
      const changed = prevFacts ? Object.keys(f).filter((x) => f[x] !== prevFacts[x]).map((x) => `${x} ${prevFacts[x] || '-'} -> ${f[x] || '-'}`) : [];
      lastFacts.set(`${k}\u0000${host}`, f);
      for (const metric of (o.metrics ?? gatedMetrics(rs[0]!.kind)).filter((m) => appliesTo(m, rs[0]!.kind))) {
        const values = rs.map((r) => metricOrNaN(r, metric));
        if (!values.some(Number.isFinite)) continue;
        const sk = `${k}\u0000${metric}\u0000${host}`;
        if (!series.has(sk)) series.set(sk, { workload, target, metric, host, points: [] });
        const s = series.get(sk)!;
        s.points.push({ run: run.id, started_at: run.started_at, values, band: bootstrap(values, median, { reps: BAND_RESAMPLES }), changed });
      }
    }
  }
  for (const s of series.values()) markChangePoints(s, o);
  return [...series.values()];
}

/**
 * Finds the history's change points on the per-run medians, then confirms each with the gate's
 * test and noise threshold on the repetitions of the CONFIRM_RUNS runs either side: a step that
 * the history shows and the gate agrees with is flagged; a drift or a wave below the threshold is not.
 */
function markChangePoints(s: TrendSeries, o: { threshold: number; alpha: number }): void {
  const medians = s.points.map((p) => p.band.estimate);
  if (medians.some((m) => !(m > 0))) return;  // a failed or empty measurement: no log scale
  for (const cp of changePoints(medians, { alpha: o.alpha, seed: s.points[0]?.run ?? 1 })) {
    const before = s.points.slice(Math.max(0, cp.index - CONFIRM_RUNS), cp.index).flatMap((p) => p.values);
    const after = s.points.slice(cp.index, cp.index + CONFIRM_RUNS).flatMap((p) => p.values);
    if (before.length < 3 || after.length < 3) continue;
    const worse = higherIsWorse(s.metric);
    const t = maxT([{ a: before, b: after, higherIsWorse: worse }], { seed: s.points[cp.index]!.run, alpha: o.alpha });
    const change = simultaneousChange(t.delta[0]!, t.se[0]!, t.qWorse, t.qBetter, worse, o.alpha);
    const verdict = gateVerdict(s.metric, change.estimate, t.pWorse[0]!, t.pBetter[0]!, { alpha: o.alpha, threshold: thresholdOf(s.metric, o) });
    if (verdict !== 'regression' && verdict !== 'improvement') continue;
    Object.assign(s.points[cp.index]!, { changePoint: verdict, p: verdict === 'regression' ? t.pWorse[0] : t.pBetter[0], historyP: cp.p });
  }
}


/** At most about this many run labels on a chart's x axis. */
const LABELS = 12;

function chart(s: TrendSeries): string {
  const W = 900;
  const H = 260;
  const L = 90;
  const R = 20;
  const T = 30;
  const B = 40;
  const lo = Math.min(...s.points.map((p) => p.band.low));
  const hi = Math.max(...s.points.map((p) => p.band.high));
  const pad = (hi - lo) * 0.1 || hi * 0.05 || 1;
  const y = (v: number) => T + (1 - (v - (lo - pad)) / (hi - lo + 2 * pad)) * (H - T - B);
  const n = s.points.length;
  const x = (i: number) => L + (n === 1 ? (W - L - R) / 2 : (i / (n - 1)) * (W - L - R));
  const band = [...s.points.map((p, i) => `${x(i).toFixed(1)},${y(p.band.high).toFixed(1)}`), ...[...s.points].reverse().map((p, j) => `${x(n - 1 - j).toFixed(1)},${y(p.band.low).toFixed(1)}`)].join(' ');
  const line = s.points.map((p, i) => `${x(i).toFixed(1)},${y(p.band.estimate).toFixed(1)}`).join(' ');
  const every = Math.max(1, Math.ceil(n / LABELS));
  const marks = s.points.map((p, i) => {
    const cls = p.changePoint ?? 'point';
    const title = `run ${p.run} (${p.started_at}): ${formatMetric(s.metric, p.band.estimate)} [${formatMetric(s.metric, p.band.low)}, ${formatMetric(s.metric, p.band.high)}]${p.changePoint ? `; a change point: ${p.changePoint}, history p ${p.historyP!.toPrecision(2)}, the gate's p between the ${CONFIRM_RUNS} runs either side ${p.p!.toPrecision(2)}` : ''}`;
    // The stack change: a dashed line between the two runs, one label line per change, written
    // towards the side of the chart that has room.
    const at = x(i) - (x(i) - (i ? x(i - 1) : x(i))) / 2;
    const right = at < (W + L) / 2;
    const stack = p.changed.length
      ? `<line class="stack-change" x1="${at}" y1="${T}" x2="${at}" y2="${H - B}"/>${p.changed.map((c, k) => `<text class="stack-label" x="${right ? at + 4 : at - 4}" y="${T + 12 + 13 * k}" text-anchor="${right ? 'start' : 'end'}">${escapeXml(c)}</text>`).join('')}`
      : '';
    // Run labels thinned to about a dozen (at 200 runs they overprinted into a band), change points always labelled.
    const label = i % every === 0 || p.changePoint ? `<text class="run-label" x="${x(i).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">run ${p.run}</text>` : '';
    return `${stack}<circle class="${cls}" cx="${x(i).toFixed(1)}" cy="${y(p.band.estimate).toFixed(1)}" r="${p.changePoint ? 7 : n > 60 ? 2 : 4}"><title>${escapeXml(title)}</title></circle>${label}`;
  });
  const ticks = [lo, (lo + hi) / 2, hi].map((v) => `<text x="${L - 8}" y="${y(v) + 4}" text-anchor="end">${escapeXml(formatMetric(s.metric, v))}</text><line class="grid" x1="${L}" y1="${y(v)}" x2="${W - R}" y2="${y(v)}"/>`);
  return `<svg class="trend" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(`${s.workload} ${s.target} ${s.metric}`)}">${ticks.join('')}<polygon class="band" points="${band}"/><polyline class="line" points="${line}"/>${marks.join('')}</svg>`;
}

export function renderTrendHtml(all: TrendSeries[], title = 'isoprobe trend'): string {
  const sections = all.map((s) => {
    const cps = s.points.filter((p) => p.changePoint);
    const note = cps.length ? cps.map((p) => `<b class="${p.changePoint}">${p.changePoint} at run ${p.run}</b>`).join(', ') : 'no change point';
    return `<section><h2>${escapeXml(s.workload)} <small>${escapeXml(s.target)}${s.host ? ` on ${escapeXml(s.host)}` : ''}: ${s.metric}</small></h2><p>${note}</p>${chart(s)}</section>`;
  });
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeXml(title)}</title><style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#212529;padding:0 1em}
h2{border-bottom:1px solid #dee2e6;margin-top:1.6em}h2 small{color:#868e96;font-weight:normal}
svg.trend{width:100%;height:auto;font-size:11px}.band{fill:#1b6ac9;fill-opacity:.15;stroke:none}.line{fill:none;stroke:#1b6ac9;stroke-width:2}
.point{fill:#1b6ac9}.regression{fill:#c92a2a;color:#c92a2a}.improvement{fill:#2b8a3e;color:#2b8a3e}.grid{stroke:#e9ecef}
.stack-change{stroke:#e67700;stroke-dasharray:4 3}.stack-label{fill:#e67700}
</style></head><body><h1>${escapeXml(title)}</h1>
<p>Every stored run in time order: the median over repetitions with its bootstrap 95 % band; an orange line names what changed in the stack since the previous run; a red (green) point is a change point of the whole history (binary segmentation with a permutation test: with no change anywhere, the chance of any flag in a series is at most alpha), confirmed as a regression (improvement) by the A/B gate's test and noise threshold between the ${CONFIRM_RUNS} runs either side.</p>
${sections.join('\n') || '<p>No stored runs match.</p>'}
</body></html>`;
}
