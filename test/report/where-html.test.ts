// The report's split by layer in a real browser (Debian's headless Chromium): per workload a
// stacked bar per traced target for the p50 band and for the slowest 1 %, each segment as wide as
// its layer's median time (block: device, host kernel, boundary; RR: host path, server, boundary),
// and the counts per operation; a screenshot is kept in test-results/.
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { type Cell, type Comparison, summarize, warningsFor } from '../../lib/compare/compare';
import type { Suite } from '../../lib/compare/suites';
import { renderHtml } from '../../lib/report/html';
import { histogramOf, summarize as summarizeHistogram } from '../../lib/stats/histogram';
import type { TargetResult } from '../../lib/targets/types';
import { chromiumSkip, openReport, tempDir, testIf, why, withChromium } from '../helpers';
import { type Layers, type NetLayers, withNetWhere, withWhere } from '../trace/where-fixture';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

function rrResult(target: string, p50: number): TargetResult {
  const lat = summarizeHistogram(histogramOf(Array.from({ length: 500 }, (_, i) => p50 * (0.9 + (i % 21) / 100))));
  return { kind: 'tcp_rr', options: { size: 64, conns: 1 }, transactions: 500, tps: 1e9 / lat.mean, latency_ns: lat,
    target: { target, kind: 'container', runtime: target, probe_sha256: 'ab'.repeat(32), emulated: false } } as unknown as TargetResult;
}

function result(target: string, p50: number): TargetResult {
  const lat = summarizeHistogram(histogramOf(Array.from({ length: 500 }, (_, i) => p50 * (0.9 + (i % 21) / 100))));
  return { kind: 'block', options: { engine: 'psync' }, ops: 500, iops: 1e9 / lat.mean, latency_ns: lat, host_page_cache: { mode: 'bypassed' },
    target: { target, kind: 'container', runtime: target, probe_sha256: 'ab'.repeat(32), emulated: false } } as unknown as TargetResult;
}

// An RR workload: host and runc traced (host path, server, boundary), the host's 2.5 packets per transaction.
const RR_SPLITS: Record<string, { p50: NetLayers; slow: NetLayers }> = {
  host: { p50: [24e3, 11e3, 30e3], slow: [1.5e6, 3.7e5, 2.9e5] },
  runc: { p50: [27e3, 5e3, 33e3], slow: [2e5, 6e3, 2.5e6] },
};

// Two traced variants of the host (direct and buffered), one target not traced.
const SPLITS: Record<string, { p50: Layers; slow: Layers; syscalls: number }> = {
  host: { p50: [41e3, 6e3, 2e3], slow: [200e3, 1.5e6, 30e3], syscalls: 1.01 },
  'host[buffered]': { p50: [0, 3e3, 1e3], slow: [0, 40e3, 8e3], syscalls: 1.02 },
};

testIf(chromiumSkip, test.serial)('the report draws the split by layer: a stacked bar per traced target for the p50 band and the slowest 1 %, and the counts per operation' + why(chromiumSkip), async (t) => {
  const suite: Suite = { name: 'demo', workloads: [{ name: 'randread-4k-qd1', workload: { kind: 'block', options: {} } }, { name: 'rr-64', workload: { kind: 'rr', options: {} } }] };
  const targets = ['host', 'host[buffered]', 'runc'];
  const cells: Cell[] = targets.map((tg) => ({ target: tg, workload: 'randread-4k-qd1', results: [0, 1, 2, 3, 4].map((k) => {
    const s = SPLITS[tg];
    const j = 1 + k * 0.01;
    return s ? withWhere(result(tg, 50e3), { p50: s.p50.map((x) => x * j) as Layers, slow: s.slow.map((x) => x * j) as Layers, perOp: { syscalls: s.syscalls, block_requests: s.p50[0] ? 1 : 0 } }) : result(tg, 70e3);
  }) }));
  cells.push(...targets.map((tg) => ({ target: tg, workload: 'rr-64', results: [0, 1, 2, 3, 4].map((k) => {
    const s = RR_SPLITS[tg];
    const j = 1 + k * 0.01;
    return s ? withNetWhere(rrResult(tg, 70e3), { p50: s.p50.map((x) => x * j) as NetLayers, slow: s.slow.map((x) => x * j) as NetLayers, perOp: tg === 'host' ? { packets: 2.5 } : {} }) : rrResult(tg, 90e3);
  }) })));
  const summaries = summarize(cells, suite, targets);
  const c: Comparison = { suite: 'demo', reps: 5, targets, summaries, warnings: warningsFor(summaries, 5), cells, stacks: {} };
  const file = join(tmp.dir, 'where.html');
  writeFileSync(file, renderHtml(c, { machine: 'test' }));
  await withChromium(async (browser) => {
    const { page, problems } = await openReport(browser, file);
    const section = (w: string) => page.locator('section').filter({ has: page.locator('h2', { hasText: w }) });
    const block = section('randread-4k-qd1');
    for (const [band, key] of [['p50', 'p50'], ['slowest1', 'slow']] as const) {
      const segs = await block.locator(`svg.where-${band} rect.seg`).evaluateAll((rs) => rs.map((r) => ({ layer: r.getAttribute('data-role'), w: r.getBoundingClientRect().width })));
      t.deepEqual(segs.map((s) => s.layer), ['device', 'host kernel', 'boundary', 'device', 'host kernel', 'boundary'], `${band}: three layers for each traced target, none for runc`);
      // Each segment's width against the first bar's device segment: the ratio of the layers' medians (x 1.02, the third repetition).
      const med = (tg: string, i: number) => SPLITS[tg]![key][i]! * 1.02;
      const scale = segs[0]!.w / med('host', 0);
      segs.forEach((s, i) => t.true(Math.abs(s.w - med(i < 3 ? 'host' : 'host[buffered]', i % 3) * scale) < 1, `${band} segment ${i} (${s.layer}) is ${s.w.toFixed(1)} px`));
    }
    const counts = await block.locator('table.where-counts tr').allInnerTexts();
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
    t.regex(await block.locator('p.where-none').innerText(), /not split: runc/);
    t.regex(await page.locator('table').first().innerText(), /dev 84% host 12% bnd 4%/, 'the where column in words');
    // The RR workload: its own layers, each segment as wide as its median, against the first bar's host path.
    const rr = section('rr-64');
    for (const [band, key] of [['p50', 'p50'], ['slowest1', 'slow']] as const) {
      const segs = await rr.locator(`svg.where-${band} rect.seg`).evaluateAll((rs) => rs.map((r) => ({ layer: r.getAttribute('data-role'), w: r.getBoundingClientRect().width })));
      t.deepEqual(segs.map((s) => s.layer), ['host path', 'server', 'boundary', 'host path', 'server', 'boundary'], `RR ${band}: the RR layers for host and runc, none for host[buffered]`);
      const med = (tg: string, i: number) => RR_SPLITS[tg]![key][i]! * 1.02;
      const scale = segs[0]!.w / med('host', 0);
      segs.forEach((s, i) => t.true(Math.abs(s.w - med(i < 3 ? 'host' : 'runc', i % 3) * scale) < 1, `RR ${band} segment ${i} (${s.layer}) is ${s.w.toFixed(1)} px`));
    }
    const rrCounts = await rr.locator('table.where-counts tr').allInnerTexts();
    t.deepEqual(rrCounts[0]!.split('\t'), ['target', 'packets', 'empty segments', 'server calls', 'client calls'], 'the registry\'s RR counts');
    t.deepEqual(rrCounts.slice(1).map((l) => l.split('\t').slice(0, 2)), [['host', '2.500/tx'], ['runc', '2.000/tx']]);
    t.regex(await rr.locator('table.where-counts caption').innerText(), /per transaction/);
    t.regex(await rr.locator('table').first().innerText(), /path 37% srv 17% bnd 46%/, 'the RR where column in words (24/11/30 µs)');
    const shots = join(process.cwd(), 'test-results');
    mkdirSync(shots, { recursive: true });
    await page.locator('h3:text("Where the time goes")').first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, 'report-where.png'), fullPage: true });
    t.deepEqual(problems, []);
  });
});
