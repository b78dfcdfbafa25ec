// npm run bench:trend - the trend report at a year of nightly runs: 365 stored runs of 5 workloads
// x 2 targets x 5 repetitions (30 series), timed from the store to the written HTML. Goal:
// interactive (a few seconds). Prints the time of each part and the HTML's size.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { renderTrendHtml, trendSeries } from '../lib/report/trend';
import { histogramOf, summarize } from '../lib/stats/histogram';
import { rng } from '../lib/stats/resample';
import { Store } from '../lib/store/db';

const RUNS = Number(process.env.TREND_RUNS || 365);

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), `isoprobe-bench-${process.pid.toString(36)}-`));
  try {
    const store = new Store(join(dir, 'trend.db'));
    const r = rng(1);
    const lat = summarize(histogramOf(Array.from({ length: 2000 }, (_, i) => 100_000 + (i % 89) * 300)));
    let t0 = Date.now();
    for (let run = 1; run <= RUNS; run++) {
      const id = store.startRun({ suite: 'quick', reps: 5, targets: ['host', 'runc'], command: 'bench' });
      for (const w of ['a', 'b', 'c', 'd', 'e']) for (const target of ['host', 'runc']) for (let rep = 0; rep < 5; rep++) {
        const f = 1 + 0.01 * (r() - 0.5) + (run > RUNS * 0.75 ? 0.1 : 0);
        store.addResult(id, w, target, rep, { kind: 'block', options: {}, iops: 1e4 / f, latency_ns: { ...lat, percentiles: { ...lat.percentiles, 50: lat.percentiles['50']! * f, 99: lat.percentiles['99']! * f } },
          probe: { sha256: 'c' }, env: { kernel: 'k' }, target: { target, kind: 'container', runtime: target } });
      }
      store.finishRun(id, 'complete');
    }
    const stored = Date.now() - t0;
    t0 = Date.now();
    const series = trendSeries(store, { threshold: 0.05, alpha: 0.01 });
    const analysed = Date.now() - t0;
    t0 = Date.now();
    const html = renderTrendHtml(series);
    const rendered = Date.now() - t0;
    const flagged = series.filter((s) => s.points.some((p) => p.changePoint)).length;
    console.log(`trend of ${RUNS} runs, ${series.length} series: read and analysed in ${analysed} ms, HTML (${(html.length / 1e6).toFixed(2)} MB) in ${rendered} ms; ${flagged} series with the planted step flagged (storing the runs took ${stored} ms)`);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
