// The report's split by layer in a real browser (Debian's headless Chromium): per workload a
// stacked bar per traced target for the p50 band and for the slowest 1 %, each segment as wide as
// its layer's median time, and the counts per operation; a screenshot is kept in test-results/.
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { type Cell, type Comparison, summarize, warningsFor } from '../../lib/compare/compare';
import type { Suite } from '../../lib/compare/suites';
import { renderHtml } from '../../lib/report/html';
import { histogramOf, summarize as summarizeHistogram } from '../../lib/stats/histogram';
import type { TargetResult } from '../../lib/targets/types';
import { chromiumSkip, openReport, tempDir, testIf, why, withChromium } from '../helpers';
import { type Layers, withWhere } from '../trace/where-fixture';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

function result(target: string, p50: number): TargetResult {
  const lat = summarizeHistogram(histogramOf(Array.from({ length: 500 }, (_, i) => p50 * (0.9 + (i % 21) / 100))));
  return { kind: 'block', options: { engine: 'psync' }, ops: 500, iops: 1e9 / lat.mean, latency_ns: lat, host_page_cache: { mode: 'bypassed' },
    target: { target, kind: 'container', runtime: target, probe_sha256: 'ab'.repeat(32), emulated: false } } as unknown as TargetResult;
}

// Two traced variants of the host (direct and buffered), one target not traced.
const SPLITS: Record<string, { p50: Layers; slow: Layers; syscalls: number }> = {
  host: { p50: [41e3, 6e3, 2e3], slow: [200e3, 1.5e6, 30e3], syscalls: 1.01 },
  'host[buffered]': { p50: [0, 3e3, 1e3], slow: [0, 40e3, 8e3], syscalls: 1.02 },
};

testIf(chromiumSkip, test.serial)('the report draws the split by layer: a stacked bar per traced target for the p50 band and the slowest 1 %, and the counts per operation' + why(chromiumSkip), async (t) => {
  const suite: Suite = { name: 'demo', workloads: [{ name: 'randread-4k-qd1', workload: { kind: 'block', options: {} } }] };
  const targets = ['host', 'host[buffered]', 'runc'];
  const cells: Cell[] = targets.map((tg) => ({ target: tg, workload: 'randread-4k-qd1', results: [0, 1, 2, 3, 4].map((k) => {
    const s = SPLITS[tg];
    const j = 1 + k * 0.01;
    return s ? withWhere(result(tg, 50e3), { p50: s.p50.map((x) => x * j) as Layers, slow: s.slow.map((x) => x * j) as Layers, perOp: { syscalls: s.syscalls, block_requests: s.p50[0] ? 1 : 0 } }) : result(tg, 70e3);
  }) }));
  const summaries = summarize(cells, suite, targets);
  const c: Comparison = { suite: 'demo', reps: 5, targets, summaries, warnings: warningsFor(summaries, 5), cells, stacks: {} };
  const file = join(tmp.dir, 'where.html');
  writeFileSync(file, renderHtml(c, { machine: 'test' }));
  await withChromium(async (browser) => {
    const { page, problems } = await openReport(browser, file);
    for (const [band, key] of [['p50', 'p50'], ['slowest1', 'slow']] as const) {
      const segs = await page.locator(`svg.where-${band} rect.seg`).evaluateAll((rs) => rs.map((r) => ({ layer: r.getAttribute('data-role'), w: r.getBoundingClientRect().width })));
      t.deepEqual(segs.map((s) => s.layer), ['device', 'host kernel', 'boundary', 'device', 'host kernel', 'boundary'], `${band}: three layers for each traced target, none for runc`);
      // Each segment's width against the first bar's device segment: the ratio of the layers' medians (x 1.02, the third repetition).
      const med = (tg: string, i: number) => SPLITS[tg]![key][i]! * 1.02;
      const scale = segs[0]!.w / med('host', 0);
      segs.forEach((s, i) => t.true(Math.abs(s.w - med(i < 3 ? 'host' : 'host[buffered]', i % 3) * scale) < 1, `${band} segment ${i} (${s.layer}) is ${s.w.toFixed(1)} px`));
    }
    const counts = await page.locator('table.where-counts tr').allInnerTexts();
    t.is(counts.length, 3, 'a heading and a row per traced target');
    // Columns by their heading (the registry's count metrics, in its order), not by position.
    const head = counts[0]!.split('\t');
    const cell = (row: number, h: RegExp) => counts[row]!.split('\t')[head.findIndex((x) => h.test(x))];
    t.is(counts[1]!.split('\t')[0], 'host');
    t.is(cell(1, /^syscalls/), '1.010/op', counts.join('\n'));
    t.is(cell(1, /^block requests/), '1.000/op', counts.join('\n'));
    t.is(counts[2]!.split('\t')[0], 'host[buffered]');
    t.is(cell(2, /^syscalls/), '1.020/op');
    t.is(cell(2, /^block requests/), '0.000/op');
    t.regex(await page.locator('p.where-none').innerText(), /not split: runc/);
    t.regex(await page.locator('table').first().innerText(), /dev 84% host 12% bnd 4%/, 'the where column in words');
    const shots = join(process.cwd(), 'test-results');
    mkdirSync(shots, { recursive: true });
    await page.locator('h3:text("Where the time goes")').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, 'report-where.png'), fullPage: true });
    t.deepEqual(problems, []);
  });
});
