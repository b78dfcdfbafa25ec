// What each isolation boundary costs: 4 KiB random read O_DIRECT QD 1 on the same backing file, and
// TCP RR 64 B across a veth pair, on host / runc / runsc / docker, repetitions interleaved in a
// shuffled order, overhead as a ratio to the host with a bootstrap 95 % interval.
// `npm run bench:targets` (BENCH_REPS, BENCH_SECONDS, BENCH_TARGETS=host,runc,... to change).
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { bootstrapRatio, median, rng } from '../lib/stats/resample';
import { makeTarget, type TargetName } from '../lib/targets';
import { releaseDaemons } from '../lib/targets/daemons';
import type { Session, TargetResult } from '../lib/targets/types';
import type { BlockResult, NetResult } from '../lib/probe/types';
import { machine, saveResults } from './common';

const REPS = Number(process.env.BENCH_REPS || 5);
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const NAMES = (process.env.BENCH_TARGETS || 'host,runc,runsc,docker').split(',') as TargetName[];

interface Row { block: number[]; blockP50: number[]; cache: string[]; rrP50: number[]; tps: number[] }

async function main(): Promise<void> {
  const dir = mkdtempSync(join(process.env.BENCH_DIR || '/var/tmp', `isoprobe-bench-${process.pid.toString(36)}-`));
  const dataFile = join(dir, 'data.dat');
  const sessions = new Map<TargetName, Session>();
  const rows = new Map<TargetName, Row>();
  try {
    for (const name of NAMES) {
      const t = makeTarget(name);
      const a = await t.available();
      if (!a.ok) {
        console.log(`${name}: skipped, ${a.reason}`);
        continue;
      }
      sessions.set(name, await t.start({ dataFile, dataSize: 1 << 30, network: true }));
      rows.set(name, { block: [], blockP50: [], cache: [], rrP50: [], tps: [] });
    }
    console.log(`isolation overhead: ${REPS} repetitions of ${SECONDS} s per workload and target, interleaved in shuffled order`);
    console.log(`machine: ${machine()}\n`);
    const r = rng(42);
    for (let rep = 0; rep < REPS; rep++) {
      const order = [...sessions.keys()].sort(() => r() - 0.5);
      for (const name of order) {
        const s = sessions.get(name)!;
        const row = rows.get(name)!;
        const b = (await s.run({ kind: 'block', options: { size: '1G', direct: true, pattern: 'randread', bs: '4k', duration: `${SECONDS}s`, warmup: '1s' } })) as TargetResult & BlockResult;
        row.block.push(b.iops);
        row.blockP50.push(b.latency_ns.percentiles['50']!);
        row.cache.push(b.host_page_cache!.mode);
        const n = (await s.run({ kind: 'rr', options: { size: 64, duration: `${SECONDS}s`, warmup: '1s' }, placement: 'client-inside' })) as TargetResult & NetResult;
        row.rrP50.push(n.latency_ns!.percentiles['50']!);
        row.tps.push(n.tps!);
      }
      process.stderr.write(`repetition ${rep + 1}/${REPS} done\n`);
    }
    const host = rows.get('host');
    const fmt = (x: number, d = 0) => x.toFixed(d);
    console.log('| target | 4k randread IOPS (median) | vs host [95 % CI] | p50 latency | host page cache | TCP RR p50 | vs host [95 % CI] | transactions/s |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const [name, row] of rows) {
      const ri = host ? bootstrapRatio(row.block, host.block) : undefined;
      const rl = host ? bootstrapRatio(row.rrP50, host.rrP50) : undefined;
      const ci = (i?: { estimate: number; low: number; high: number }) => (i ? `${fmt(i.estimate, 3)} [${fmt(i.low, 3)}, ${fmt(i.high, 3)}]` : '-');
      const cache = [...new Set(row.cache)].join('/');
      console.log(`| ${name} | ${fmt(median(row.block))} | ${ci(ri)} | ${fmt(median(row.blockP50) / 1000, 1)} µs | ${cache} | ${fmt(median(row.rrP50) / 1000, 1)} µs | ${ci(rl)} | ${fmt(median(row.tps))} |`);
    }
    console.log(`\nraw samples: ${saveResults('targets', { machine: machine(), reps: REPS, seconds: SECONDS, rows: Object.fromEntries(rows) })}`);
  } finally {
    for (const s of sessions.values()) await s.stop();
    await releaseDaemons();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
