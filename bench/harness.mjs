#!/usr/bin/env node
// The TypeScript side's own costs, measured with tinybench, so a regression in the harness shows:
// the addon's per-call overhead (a one-operation null-engine run, from the call to the resolved
// Promise), decoding a result, merging histograms and reading percentiles, and the bootstrap
// behind every interval of a 5 x 5 comparison.
//   npm run bench:harness        (ISOPROBE_BENCH_TIME=ms per task, default 2000)
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Bench } from 'tinybench';

const require = createRequire(import.meta.url);
const { runBlock } = require('../dist/lib/probe/block.js');
const { mergeHistograms, percentile, histogramOf } = require('../dist/lib/stats/histogram.js');
const { bootstrap, bootstrapRatio } = require('../dist/lib/stats/resample.js');
const { summarize } = require('../dist/lib/compare/compare.js');
const { machine, saveResults } = require('../dist/bench/common.js');

const time = Number(process.env.ISOPROBE_BENCH_TIME || 2000);
const dir = mkdtempSync(join(tmpdir(), `isoprobe-bench-${process.pid.toString(36)}-`));
const file = join(dir, 'null.dat');
try {
  // Real inputs: a result of a real run, and 25 real histograms (5 targets x 5 repetitions).
  const sample = await runBlock({ file, size: '1M', duration: '200ms', warmup: '0ns' });
  const json = JSON.stringify(sample);
  const hists = [];
  for (let i = 0; i < 25; i++) hists.push(histogramOf(Array.from({ length: 20_000 }, (_, k) => 20_000 + ((k * 7919 + i * 104_729) % 60_000))));
  const five = [30_100, 29_800, 31_020, 30_400, 29_950];
  const other = [20_300, 20_900, 19_800, 20_150, 21_000];
  const suite = { name: 'b', workloads: [{ name: 'w', workload: { kind: 'block', options: {} } }] };
  const targets = ['a', 'b', 'c', 'd', 'e'];
  const cells = targets.map((t, i) => ({ target: t, workload: 'w', results: hists.slice(i * 5, i * 5 + 5).map((h) => ({ ...sample, target: { target: t, emulated: false }, iops: 30_000 - i * 1000 + h.count % 97, latency_ns: { ...sample.latency_ns, histogram: h } })) }));

  const bench = new Bench({ time, warmupTime: 300 });
  bench
    .add('addon call: one null-engine op, call to resolved Promise', async () => {
      await runBlock({ file, size: '4k', engine: 'null', ops: 1, warmup: '0ns' });
    })
    .add('decode one block result (JSON.parse)', () => {
      JSON.parse(json);
    })
    .add('merge 25 histograms, then p50/p99/p99.9', () => {
      const m = mergeHistograms(...hists);
      percentile(m, 50);
      percentile(m, 99);
      percentile(m, 99.9);
    })
    .add('bootstrap 95 % interval of a median, 5 repetitions', () => {
      bootstrap(five);
    })
    .add('bootstrap 95 % interval of a ratio, 5 vs 5', () => {
      bootstrapRatio(five, other);
    })
    .add('summarize a 5 targets x 5 repetitions workload', () => {
      summarize(cells, suite, targets);
    });
  await bench.run();
  const failed = bench.tasks.filter((t) => t.result.state !== 'completed');
  if (failed.length) throw new Error(failed.map((t) => `${t.name}: ${t.result.state} ${t.result.error?.stack ?? ''}`).join('\n'));
  const rows = bench.tasks.map((t) => {
    const l = t.result.latency;
    return { task: t.name, mean_us: l.mean * 1000, p99_us: l.p99 * 1000, samples: l.samples?.length ?? t.result.samples?.length ?? 0 };
  });
  console.log(`isoprobe harness costs (tinybench, ${time} ms per task) on ${machine()}`);
  for (const r of rows) console.log(`${r.task.padEnd(58)} mean ${r.mean_us.toFixed(2).padStart(10)} us   p99 ${r.p99_us.toFixed(2).padStart(10)} us`);
  console.log(`results: ${saveResults('harness', { machine: machine(), rows })}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
