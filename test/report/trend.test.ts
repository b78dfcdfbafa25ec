// The trend report as a user opens it: twelve stored runs, the guest kernel replaced before the
// eighth and latencies 30 % higher from then on. The chart names the kernel change at run 8 and
// flags run 8 (only) as a change point; checked in headless Chromium, with a screenshot kept.
// And a year-like history: 200 runs with a 2 % wave and a 10 % step at run 152, found there and
// nowhere else, its labels thinned; an A/A history of 200 runs, no flag.
import test from 'ava';

import { RESULT_METRICS } from '../../lib/compare/metrics';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { histogramOf, summarize as summarizeHistogram } from '../../lib/stats/histogram';
import { rng } from '../../lib/stats/resample';
import { changePoints } from '../../lib/stats/changepoint';
import { renderTrendHtml, trendSeries } from '../../lib/report/trend';
import { Store } from '../../lib/store/db';
import { chromiumSkip, runCli, tempDir, testIf, why, withChromium } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const skip = chromiumSkip;

function storeWithTrend(path: string, o: { runs?: number; stepAt?: number; step?: number; wave?: number } = {}): number[] {
  const store = new Store(path);
  const r = rng(3);
  const ids: number[] = [];
  const stepAt = o.stepAt ?? 8;
  try {
    for (let run = 1; run <= (o.runs ?? 12); run++) {
      const id = store.startRun({ suite: 'quick', reps: 5, targets: ['qemu-microvm'], command: 'test' });
      ids.push(id);
      const slow = (run >= stepAt ? (o.step ?? 1.3) : 1) * (1 + (o.wave ?? 0) * Math.sin(run / 6));
      const kernel = run >= stepAt ? 'b'.repeat(64) : 'a'.repeat(64);
      for (let rep = 0; rep < 5; rep++) {
        const noise = 1 + 0.01 * (r() - 0.5);
        const lat = summarizeHistogram(histogramOf(Array.from({ length: 2000 }, (_, i) => Math.round(slow * noise * (100_000 + (i % 89) * 300)))));
        store.addResult(id, 'randread-4k-qd1', 'qemu-microvm', rep, {
          kind: 'block', options: { engine: 'psync', pattern: 'randread', bs: 4096 }, iops: 1e9 / lat.mean, latency_ns: lat, probe: { sha256: 'c'.repeat(64) }, env: { kernel: run >= stepAt ? '6.12.117' : '6.1.192' },
          target: { target: 'qemu-microvm', kind: 'vm', runtime: 'qemu-microvm', runtime_version: 'QEMU 7.2', probe_sha256: 'c'.repeat(64), emulated: true,
            resolved: { vmm_path: '/usr/bin/qemu-system-x86_64', vmm_sha256: 'd'.repeat(64), kernel_path: '/k', kernel_sha256: kernel, kernel_source: 'built' } },
        });
      }
      store.finishRun(id, 'complete');
    }
  } finally {
    store.close();
  }
  return ids;
}

testIf(skip, test.serial)('report --trend: bands, the stack change named at the run it happened, the change point flagged there only' + why(skip), async (t) => {
  const db = join(tmp.dir, 'trend.db');
  const ids = storeWithTrend(db);
  const file = join(tmp.dir, 'trend.html');
  const r = runCli(['report', '--trend', '--db', db, '-o', file]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, new RegExp(`^trend of 3 series written to ${file.replace(/[.]/g, '\\.')}$`, 'm'));
  t.regex(r.stdout, new RegExp(`^randread-4k-qd1 on qemu-microvm p50: regression at run ${ids[7]}$`, 'm'));
  t.regex(r.stdout, new RegExp(`^randread-4k-qd1 on qemu-microvm iops: regression at run ${ids[7]}$`, 'm'));
  await withChromium(async (browser) => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('request', (q) => { if (!q.url().startsWith('file:')) problems.push(`fetched ${q.url()}`); });
    await page.goto(`file://${file}`);
    t.is(await page.locator('svg.trend').count(), 3, 'p50, p99 and IOPS');
    t.is(await page.locator('svg.trend').first().locator('circle').count(), 12, 'one point per run');
    t.is(await page.locator('svg.trend polygon.band').count(), 3);
    // The change point: red, on run 8 only, in each series.
    t.is(await page.locator('svg.trend circle.regression').count(), 3);
    const title = await page.locator('svg.trend').first().locator('circle.regression title').textContent();
    t.regex(title!, new RegExp(`^run ${ids[7]} .*a change point: regression, history p [0-9.e-]+, the gate's p between the 5 runs either side `));
    // The stack change: named once per series, at the boundary before run 8.
    const labels = await page.locator('svg.trend').first().locator('text.stack-label').allTextContents();
    t.deepEqual(labels, [`guest kernel ${'a'.repeat(12)} -> ${'b'.repeat(12)}`, 'guest kernel version 6.1.192 -> 6.12.117']);
    // Every label stays inside its chart.
    for (const box of await page.locator('svg.trend').first().locator('text.stack-label').evaluateAll((els) => els.map((e) => {
      const b = (e as unknown as { getBBox(): { x: number; width: number } }).getBBox();
      return [b.x, b.x + b.width];
    }))) t.true(box[0]! >= 0 && box[1]! <= 900, `label from ${box[0]} to ${box[1]}`);
    mkdirSync(join(process.cwd(), 'test-results'), { recursive: true });
    await page.screenshot({ path: join(process.cwd(), 'test-results', 'trend.png'), fullPage: true });
    t.deepEqual(problems, []);
  });
});

test('report --trend refuses a run number, and bad values name the option', (t) => {
  const r = runCli(['report', '--trend', '3', '--db', join(tmp.dir, 'x.db')]);
  t.is(r.code, 2);
  t.is(r.stderr.trim(), 'isoprobe: --trend covers every stored run; no RUN ("3")');
  const m = runCli(['report', '--trend', '--metric', 'p42', '--db', join(tmp.dir, 'x.db')]);
  t.is(m.code, 2);
  t.is(m.stderr.trim(), `isoprobe: --metric "p42": expected one of ${RESULT_METRICS.join(', ')}`);
  const a = runCli(['report', '--trend', '--alpha', '2', '--db', join(tmp.dir, 'x.db'), '-o', join(tmp.dir, 'alpha.html')]);
  t.is(a.code, 2);
  t.is(a.stderr.trim(), 'isoprobe: --alpha "2": expected a number between 0 and 1');
  t.false(existsSync(join(tmp.dir, 'alpha.html')), 'nothing is written for bad input');
});

test('200 runs: a 2 % wave and a 10 % step at run 152; the step is found there in every series and nothing else is', (t) => {
  const db = join(tmp.dir, 'long.db');
  const ids = storeWithTrend(db, { runs: 200, stepAt: 152, step: 1.1, wave: 0.02 });
  const store = new Store(db);
  try {
    const t0 = Date.now();
    const series = trendSeries(store, { threshold: 0.05, alpha: 0.01 });
    const html = renderTrendHtml(series);
    t.log(`200 runs, ${series.length} series: ${Date.now() - t0} ms, ${(html.length / 1e6).toFixed(2)} MB of HTML`);
    t.is(series.length, 3);
    for (const s of series) {
      const flagged = s.points.filter((p) => p.changePoint).map((p) => p.run);
      t.deepEqual(flagged, [ids[151]], `${s.metric}: flagged at ${flagged.join(', ')}`);
      t.is(s.points.find((p) => p.changePoint)!.changePoint, s.metric === 'iops' ? 'regression' : 'regression', 'slower latency and lower IOPS are both regressions');
    }
    // The x axis: about a dozen run labels per chart (plus the change point's), not 200.
    const labels = (html.match(/class="run-label"/g) ?? []).length / series.length;
    t.true(labels >= 10 && labels <= 14, `${labels} labels per chart`);
  } finally {
    store.close();
  }
});

test('200 runs with no change: no change point in any series (the history-wide test at alpha)', (t) => {
  const db = join(tmp.dir, 'flat.db');
  storeWithTrend(db, { runs: 200, stepAt: 10_000, wave: 0.02 });
  const store = new Store(db);
  try {
    const series = trendSeries(store, { threshold: 0.05, alpha: 0.01 });
    t.deepEqual(series.flatMap((s) => s.points.filter((p) => p.changePoint).map((p) => `${s.metric} run ${p.run}`)), []);
  } finally {
    store.close();
  }
});

test('the history test alone: its false-flag rate over whole histories, and a step found among many runs', (t) => {
  const r = rng(21);
  const series = (n: number, step: number, at: number) => Array.from({ length: n }, (_, i) => 100 * (i >= at ? step : 1) * Math.exp(0.02 * Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r())));
  let falseFlags = 0;
  for (let s = 0; s < 200; s++) if (changePoints(series(60, 1, 0), { alpha: 0.01, seed: s + 1, permutations: 299 }).length) falseFlags++;
  t.log(`no change, 200 histories of 60 runs: ${falseFlags} with any flag (alpha 0.01)`);
  // Binomial(200, 0.01): 6 or more with probability < 1 %.
  t.true(falseFlags <= 5, `${falseFlags}/200`);
  const found = changePoints(series(100, 1.05, 70), { alpha: 0.01, seed: 7 });
  // A 5 % step at cv 2 % (2.5 sigma), 70 runs before and 30 after: one change point, within a run or two of it.
  t.is(found.length, 1, JSON.stringify(found));
  t.true(Math.abs(found[0]!.index - 70) <= 2, `found at ${found[0]!.index}`);
});
