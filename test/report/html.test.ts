// The HTML report in a real browser (Debian's headless Chromium driven by playwright-core): it
// renders, its charts are there, the console stays clean, and a screenshot is kept.
import test from 'ava';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { summarize, warningsFor, type Cell, type Comparison } from '../../lib/compare/compare';
import type { Suite } from '../../lib/compare/suites';
import { histogramOf, summarize as summarizeHistogram } from '../../lib/stats/histogram';
import { renderHtml } from '../../lib/report/html';
import type { TargetResult } from '../../lib/targets/types';
import { chromiumSkip, openReport, tempDir, testIf, why, withChromium } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const skip = chromiumSkip;

function fakeResult(target: string, scale: number, emulated = false): TargetResult {
  const values = Array.from({ length: 2000 }, (_, i) => Math.round(scale * (20_000 + (i % 97) * 150 + (i % 13) * 900)));
  const lat = summarizeHistogram(histogramOf(values));
  const ops = 2000;
  // Host cost by the roles each boundary has (the figures are made up; their shape is each target's).
  const roles: Record<string, Record<string, number>> = {
    host: { probe: 9e6 }, runc: { container: 9e6, shim: 1e5 }, runsc: { sentry: 3e7, gofer: 2e6, container: 4e6 }, 'qemu-microvm': { vcpu: 4e7, 'vmm-main': 6e6 },
  };
  const byRole = Object.fromEntries(Object.entries(roles[target] ?? {}).map(([k, v]) => [k, v * scale]));
  const total = Object.values(byRole).reduce((a, b) => a + b, 0);
  const cost = {
    host_cpu: { window_ns: 1e9, total_ns: total, user_ns: total / 2, system_ns: total / 2, by_role: byRole, sampling_error_ns: 1e6, machine: { cpus: 2, busy_ns: total, softirq_ns: 0, unattributed_ns: 0 }, sources: 'test' },
    host_memory: target === 'qemu-microvm'
      ? { rss_bytes: 240 << 20, pss_bytes: 238 << 20, by_role: {}, guest_configured_bytes: 256 << 20, guest_resident_bytes: 120 << 20, vmm_own_bytes: 110 << 20, peak_rss_bytes: 240 << 20 }
      : { rss_bytes: 4 << 20, pss_bytes: 3 << 20, by_role: {}, peak_rss_bytes: 4 << 20 },
    startup: { ns: target === 'host' ? 0 : target === 'qemu-microvm' ? 3.5e9 : 9e7, what: 'test' },
    cpu: { user_ns: total / 3, sys_ns: 0, window_ns: total / 3 },
  };
  return { kind: 'block', options: { engine: 'psync' }, ops, ...cost, iops: 1e9 / lat.mean, latency_ns: lat, host_page_cache: { mode: target === 'runsc' ? 'used' : 'bypassed' },
    target: { target, kind: 'container', runtime: target, runtime_version: '1', storage: 'bind mount', network: 'veth', cgroup_limits: 'none', probe_sha256: 'ab'.repeat(32), emulated } } as unknown as TargetResult;
}

testIf(skip, test.serial)('the report renders in headless Chromium with its charts and no console errors' + why(skip), async (t) => {
  const suite: Suite = { name: 'demo', workloads: [{ name: 'randread-4k-qd1', workload: { kind: 'block', options: {} } }] };
  const targets = ['host', 'runc', 'runsc', 'qemu-microvm'];
  const cells: Cell[] = targets.map((tg, i) => ({ target: tg, workload: 'randread-4k-qd1', results: [1, 2, 3, 4, 5].map((k) => fakeResult(tg, 1 + i * 0.15 + k * 0.01, tg === 'qemu-microvm')) }));
  const summaries = summarize(cells, suite, targets);
  const c: Comparison = { suite: 'demo', reps: 5, targets, summaries, warnings: warningsFor(summaries, 5), cells, stacks: Object.fromEntries(targets.map((x) => [x, { runtime: x }])) };
  const file = join(tmp.dir, 'report.html');
  writeFileSync(file, renderHtml(c, { machine: 'test' }));
  await withChromium(async (browser) => {
    const { page, problems } = await openReport(browser, file);
    t.is(await page.locator('svg.cdf-chart polyline.cdf').count(), 4, 'one CDF line per target');
    t.is(await page.locator('svg.bar-chart rect.bar').count(), 4);
    t.true((await page.locator('svg.hist-chart').count()) >= 4);
    // Host CPU per operation: a stacked bar per target, a segment per role it ran.
    const roles = await page.locator('svg.cost-chart rect.seg').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-role')));
    t.deepEqual(roles, ['probe', 'container', 'shim', 'sentry', 'gofer', 'container', 'vcpu', 'vmm-main']);
    const widths = await page.locator('svg.cost-chart rect.seg').evaluateAll((rs) => rs.map((r) => r.getBoundingClientRect().width));
    t.true(widths.every((w) => w > 0), `every segment drawn: ${widths.join(', ')}`);
    t.is(await page.locator('svg.startup-chart rect.seg').count(), 3, 'start-up bars for the three targets that have a boundary to start');
    t.is(await page.locator('svg.memory-chart rect.seg').count(), 5, "memory: the VM's split in two, one bar each for the others");
    t.regex(await page.locator('body').innerText(), /EMULATED/);
    const shots = join(process.cwd(), 'test-results');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: join(shots, 'report.png'), fullPage: true });
    t.true(existsSync(join(shots, 'report.png')));
    t.deepEqual(problems, []);
  });
});

testIf(skip, test.serial)('a failed target shows its failure, and the baseline is the first target with results' + why(skip), async (t) => {
  const suite: Suite = { name: 'demo', workloads: [{ name: 'uring-qd32', workload: { kind: 'block', options: {} } }] };
  const targets = ['host', 'runc', 'runsc'];
  const cells: Cell[] = [
    { target: 'host', workload: 'uring-qd32', results: [], error: 'io_uring is blocked by this process\'s seccomp filter' },
    { target: 'runc', workload: 'uring-qd32', results: [1, 2, 3].map((k) => fakeResult('runc', 1 + k * 0.01)) },
    { target: 'runsc', workload: 'uring-qd32', results: [1, 2, 3].map((k) => fakeResult('runsc', 1.5 + k * 0.01)) },
  ];
  const summaries = summarize(cells, suite, targets);
  const c: Comparison = { suite: 'demo', reps: 3, targets, summaries, warnings: warningsFor(summaries, 3), cells, stacks: {} };
  const file = join(tmp.dir, 'failed.html');
  writeFileSync(file, renderHtml(c, { machine: 'test' }));
  await withChromium(async (browser) => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    await page.goto(`file://${file}`);
    const rows = await page.locator('table').first().locator('tr').allInnerTexts();
    const row = (name: string) => rows.find((r) => r.startsWith(name))!;
    t.regex(row('host'), /failed: io_uring is blocked by this process's seccomp filter/);
    t.notRegex(row('host'), /baseline|IOPS/);
    t.regex(row('runc'), /\tbaseline\t/);
    t.regex(row('runsc'), /\t0\.\d{3} \[0\.\d{3}, 0\.\d{3}\]\t/, 'runsc is compared with runc');
    // One colour per target across the charts of a workload: bar, CDF line and legend agree.
    for (const tg of ['runc', 'runsc']) {
      const bar = await page.locator('svg.bar-chart rect.bar').nth(tg === 'runc' ? 0 : 1).getAttribute('fill');
      const line = await page.locator(`svg.cdf-chart polyline.cdf:has(title:text-is("${tg}"))`).getAttribute('stroke');
      t.is(line, bar, `${tg}: the CDF line has the bar's colour`);
    }
    mkdirSync(join(process.cwd(), 'test-results'), { recursive: true });
    await page.screenshot({ path: join(process.cwd(), 'test-results', 'report-failed.png') });
  });
});

test('a stream\'s host CPU per byte is printed in the table, not rounded to "0 ns"', (t) => {
  const suite: Suite = { name: 'demo', workloads: [{ name: 'stream', workload: { kind: 'stream', options: {} } }] };
  const result = (k: number) => ({
    kind: 'tcp_stream', options: { reverse: false }, bits_per_s: 1.2e10, bytes_sent: 3e9, bytes_received: 0, series: [],
    host_cpu: { window_ns: 1e9, total_ns: 0.99e9 + k * 1e6, user_ns: 0, system_ns: 0, by_role: { probe: 0.99e9 + k * 1e6 }, sampling_error_ns: 0, machine: { cpus: 2, busy_ns: 1e9, softirq_ns: 0, unattributed_ns: 0 }, sources: 'test' },
    cpu: { user_ns: 0, sys_ns: 0, window_ns: 0.99e9 },
    target: { target: 'host', kind: 'host', runtime: 'none', runtime_version: '1', storage: 'none', network: 'veth', cgroup_limits: 'none', probe_sha256: 'ab'.repeat(32), emulated: false },
  }) as unknown as TargetResult;
  const cells: Cell[] = [{ target: 'host', workload: 'stream', results: [1, 2, 3].map(result) }];
  const summaries = summarize(cells, suite, ['host']);
  const html = renderHtml({ suite: 'demo', reps: 3, targets: ['host'], summaries, warnings: [], cells, stacks: {} }, {});
  // 0.992e9 ns of host CPU over 3e9 bytes: 0.331 ns per byte.
  t.regex(html, /<th[^>]*>host CPU\/byte<\/th>/);
  t.regex(html, /<td>0\.331 ns<\/td>/);
});
