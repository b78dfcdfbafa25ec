// The trend report as a user opens it: five stored runs, the guest kernel replaced before the
// fourth and latencies 30 % higher from then on. The chart names the kernel change at run 4 and
// flags run 4 (only) as a regression; checked in headless Chromium, with a screenshot kept.
import test from 'ava';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { histogramOf, summarize as summarizeHistogram } from '../../lib/stats/histogram';
import { rng } from '../../lib/stats/resample';
import { Store } from '../../lib/store/db';
import { chromiumSkip, runCli, tempDir, testIf, why, withChromium } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const skip = chromiumSkip;

function storeWithTrend(path: string): number[] {
  const store = new Store(path);
  const r = rng(3);
  const ids: number[] = [];
  try {
    for (let run = 1; run <= 5; run++) {
      const id = store.startRun({ suite: 'quick', reps: 5, targets: ['qemu-microvm'], command: 'test' });
      ids.push(id);
      const slow = run >= 4 ? 1.3 : 1;
      const kernel = run >= 4 ? 'b'.repeat(64) : 'a'.repeat(64);
      for (let rep = 0; rep < 5; rep++) {
        const noise = 1 + 0.01 * (r() - 0.5);
        const lat = summarizeHistogram(histogramOf(Array.from({ length: 2000 }, (_, i) => Math.round(slow * noise * (100_000 + (i % 89) * 300)))));
        store.addResult(id, 'randread-4k-qd1', 'qemu-microvm', rep, {
          kind: 'block', options: { engine: 'psync', pattern: 'randread', bs: 4096 }, iops: 1e9 / lat.mean, latency_ns: lat, probe: { sha256: 'c'.repeat(64) }, env: { kernel: run >= 4 ? '6.12.117' : '6.1.192' },
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
  t.regex(r.stdout, new RegExp(`^randread-4k-qd1 on qemu-microvm p50: regression at run ${ids[3]}$`, 'm'));
  t.regex(r.stdout, new RegExp(`^randread-4k-qd1 on qemu-microvm iops: regression at run ${ids[3]}$`, 'm'));
  await withChromium(async (browser) => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
    const problems: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('request', (q) => { if (!q.url().startsWith('file:')) problems.push(`fetched ${q.url()}`); });
    await page.goto(`file://${file}`);
    t.is(await page.locator('svg.trend').count(), 3, 'p50, p99 and IOPS');
    t.is(await page.locator('svg.trend').first().locator('circle').count(), 5, 'one point per run');
    t.is(await page.locator('svg.trend polygon.band').count(), 3);
    // The change point: red, on run 4 only, in each series.
    t.is(await page.locator('svg.trend circle.regression').count(), 3);
    const title = await page.locator('svg.trend').first().locator('circle.regression title').textContent();
    t.regex(title!, new RegExp(`^run ${ids[3]} .*regression since the previous run, p `));
    // The stack change: named once per series, at the boundary before run 4.
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
  t.is(m.stderr.trim(), 'isoprobe: --metric "p42": expected one of p50, p90, p99, p99.9, mean, iops, tps, gbps');
  const a = runCli(['report', '--trend', '--alpha', '2', '--db', join(tmp.dir, 'x.db'), '-o', join(tmp.dir, 'alpha.html')]);
  t.is(a.code, 2);
  t.is(a.stderr.trim(), 'isoprobe: --alpha "2": expected a number between 0 and 1');
  t.false(existsSync(join(tmp.dir, 'alpha.html')), 'nothing is written for bad input');
});
