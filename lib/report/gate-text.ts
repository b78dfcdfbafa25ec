// The A/B gate's verdict as a terminal table, a Markdown summary (a CI job summary) and JUnit XML
// (one testcase per cell; a regression is a failure carrying its numbers).
import type { GateCell, GateOutcome } from '../compare/gate';
import { powerAdvice } from '../stats/power';
import { escapeXml } from './escape';

import { formatMetric, metricDef } from '../compare/metrics';

export { formatMetric };

/**
 * A side's value as the test and the change see it: the geometric mean over the repetitions that
 * have one (a failed one leaves NaN in its slot). A median beside a geometric-mean change could
 * move the other way on noisy cells.
 */
const med = (xs: number[]) => {
  const v = xs.filter((x) => Number.isFinite(x) && x > 0);
  return v.length ? Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length) : NaN;
};

function change(c: GateCell): string {
  const pct = (x: number) => `${x >= 1 ? '+' : ''}${((x - 1) * 100).toFixed(1)} %`;
  return `${pct(c.change.estimate)} [${pct(c.change.low)}, ${pct(c.change.high)}]`;
}

/** The level of the intervals printed: simultaneous over all cells, each side at alpha. */
function level(g: GateOutcome): string {
  return `${Math.round((1 - 2 * g.alpha) * 1000) / 10} %`;
}

function target(c: GateCell): string {
  return c.target === c.candidateTarget ? c.target : `${c.target} -> ${c.candidateTarget}`;
}

/** The adjusted p of the direction the cell moved (not always "worse": an improvement's is its own). */
function p(c: GateCell): number {
  return c.p;
}

/**
 * What the verdict's error rate is, exactly: regressions (the exit code) and improvements are each
 * tested one-sided at family-wise alpha, so a false verdict of either kind can reach about 2 alpha.
 */
function rule(g: GateOutcome): string {
  return `a false regression at most alpha ${g.alpha} over all cells, a false improvement likewise; noise threshold ${(g.threshold * 100).toFixed(1)} %${g.costThreshold !== undefined && g.cells.some((c) => metricDef(c.metric).thresholdClass === 'cost') ? `, ${(g.costThreshold * 100).toFixed(1)} % for host cost` : ''}${g.countThreshold !== undefined && g.cells.some((c) => metricDef(c.metric).thresholdClass === 'count') ? `, ${(g.countThreshold * 100).toFixed(1)} % for counts per operation` : ''}`;
}

export function gateSummaryLine(g: GateOutcome): string {
  const n = g.cells.length;
  if (!n) return `NO VERDICT: nothing comparable between ${g.baseline} and ${g.candidate}`;
  if (g.regressions) return `REGRESSION: ${g.regressions} of ${n} cells regressed (${rule(g)})`;
  if (g.inconclusive) return `INCONCLUSIVE: ${g.inconclusive} of ${n} cells could not have found a ${((g.precision ?? g.threshold) * 100).toFixed(1)} % change (${rule(g)}); ${g.pairs !== undefined ? 'measure longer (--budget)' : 'measure more repetitions (--reps), or in block pairs (ab --run)'} or on a quieter machine`;
  return `NO REGRESSION in ${n} cells${g.improvements ? ` (${g.improvements} improved)` : ''} (${rule(g)})`;
}

export function formatGate(g: GateOutcome): string {
  const could = g.cells.some((c) => c.detectable !== undefined);
  const rows = g.cells.map((c) => [c.workload, target(c), c.metric, formatMetric(c.metric, med(c.baseline)), formatMetric(c.metric, med(c.candidate)), change(c), p(c).toPrecision(2),
    ...(could ? [c.detectable === undefined || !Number.isFinite(c.detectable) ? '-' : `${(c.detectable * 100).toFixed(1)} %`] : []), c.verdict]);
  const head = ['workload', 'target', 'metric', 'baseline (gm)', 'candidate (gm)', `change [${level(g)} simult.]`, 'p (adj.)', ...(could ? ['could find'] : []), 'verdict'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [`isoprobe ab: baseline ${g.baseline}, candidate ${g.candidate}`, g.method ? `${g.method}` : '', '', line(head), ...rows.map(line), ''];
  for (const k of g.onlyBaseline) out.push(`only in the baseline: ${k}`);
  for (const k of g.onlyCandidate) out.push(`only in the candidate: ${k}`);
  for (const k of g.notComparable) out.push(`not comparable: ${k}`);
  if (g.reps && g.noise !== undefined) out.push(`power: ${powerAdvice(Math.min(...g.reps), g.noise)}`);
  const couldFind = '"could find": the smallest change each cell could have found (power 80 %)';
  if (g.pairs !== undefined) out.push(`pairs: ${g.pairs} measured${g.discarded ? `, ${g.discarded} discarded as disturbed and measured again` : ', none discarded as disturbed'}; ${couldFind}`);
  else if (could) out.push(couldFind);
  out.push(gateSummaryLine(g));
  return out.filter((l, i) => l !== '' || i > 1).join('\n');
}

export function gateMarkdown(g: GateOutcome): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = [`### isoprobe A/B: ${esc(g.baseline)} vs ${esc(g.candidate)}`, '', `**${gateSummaryLine(g)}**`, ''];
  if (g.cells.length) {
    out.push(`| workload | target | metric | baseline (geometric mean) | candidate (geometric mean) | change [${level(g)} simultaneous] | p (adj.) | verdict |`, '|---|---|---|---|---|---|---|---|');
    for (const c of g.cells) {
      const v = c.verdict === 'regression' ? '**regression**' : c.verdict;
      out.push(`| ${esc(c.workload)} | ${esc(target(c))} | ${c.metric} | ${formatMetric(c.metric, med(c.baseline))} | ${formatMetric(c.metric, med(c.candidate))} | ${change(c)} | ${p(c).toPrecision(2)} | ${v} |`);
    }
  }
  for (const k of g.onlyBaseline) out.push('', `- only in the baseline: ${esc(k)}`);
  for (const k of g.onlyCandidate) out.push('', `- only in the candidate: ${esc(k)}`);
  for (const k of g.notComparable) out.push('', `- not comparable: ${esc(k)}`);
  if (g.method) out.push('', `_${g.method}_`);
  return out.join('\n') + '\n';
}


export function gateJUnit(g: GateOutcome): string {
  const cases = g.cells.map((c) => {
    const name = `${target(c)} ${c.metric}`;
    const msg = `${c.metric} ${formatMetric(c.metric, med(c.baseline))} -> ${formatMetric(c.metric, med(c.candidate))} (${change(c)}), adjusted p ${p(c).toPrecision(2)}`;
    const body = c.verdict === 'regression' ? `<failure type="regression" message="${escapeXml(msg)}">${escapeXml(`baseline ${c.baseline.join(' ')}\ncandidate ${c.candidate.join(' ')}`)}</failure>`
      : c.verdict === 'inconclusive' ? `<skipped message="${escapeXml(`inconclusive: could find ${((c.detectable ?? Infinity) * 100).toFixed(1)} % at best; ${msg}`)}"/>`
        : `<system-out>${escapeXml(`${c.verdict}: ${msg}`)}</system-out>`;
    return `    <testcase classname="${escapeXml(c.workload)}" name="${escapeXml(name)}">${body}</testcase>`;
  });
  for (const k of [...g.onlyBaseline.map((x) => `only in the baseline: ${x}`), ...g.onlyCandidate.map((x) => `only in the candidate: ${x}`), ...g.notComparable.map((x) => `not comparable: ${x}`)])
    cases.push(`    <testcase classname="isoprobe" name="${escapeXml(k)}"><skipped message="${escapeXml(k)}"/></testcase>`);
  const skipped = g.onlyBaseline.length + g.onlyCandidate.length + g.notComparable.length + (g.inconclusive ?? 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="isoprobe ab" tests="${cases.length}" failures="${g.regressions}">`,
    `  <testsuite name="${escapeXml(`${g.baseline} vs ${g.candidate}`)}" tests="${cases.length}" failures="${g.regressions}" errors="0" skipped="${skipped}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
