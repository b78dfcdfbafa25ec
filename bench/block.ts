// Side-by-side with fio on the same file, interleaved in one process tree: the ratios the block
// probe's speed targets are judged by. `npm run bench:block` (BENCH_REPS, BENCH_SECONDS to change).
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

import { runBlock } from '../lib/probe/block';
import type { BlockResult } from '../lib/probe/types';
import { interleave, machine, median, ratioLine, run, saveResults } from './common';

const REPS = Number(process.env.BENCH_REPS || 5);
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const WARMUP = 1;
const SIZE = '1G';

interface Sample {
  iops: number;
  mean: number;
  p50: number;
  p99: number;
}

async function fio(file: string, engine: 'psync' | 'io_uring', qd: number, jobs = 1): Promise<Sample> {
  // Several jobs: one group, so jobs[0] is their sum (fio's --group_reporting).
  const many = jobs > 1 ? [`--numjobs=${jobs}`, '--group_reporting'] : [];
  const r = await run('fio', ['--name=bench', `--filename=${file}`, `--size=${SIZE}`, '--rw=randread', '--bs=4k', '--direct=1', `--ioengine=${engine}`,
    `--iodepth=${qd}`, ...many, `--runtime=${SECONDS}`, '--time_based', `--ramp_time=${WARMUP}`, '--output-format=json', '--lat_percentiles=1',
    '--norandommap', '--randrepeat=0', '--invalidate=1']);
  if (r.code !== 0) throw new Error(`fio failed: ${r.stderr}`);
  const read = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))).jobs[0].read;
  return { iops: read.iops, mean: read.lat_ns.mean, p50: read.lat_ns.percentile['50.000000'], p99: read.lat_ns.percentile['99.000000'] };
}

async function iso(file: string, engine: 'psync' | 'io_uring' | 'null', qd: number, via: 'addon' | 'binary', jobs = 1): Promise<Sample & { cpu_per_op: number }> {
  // Jobs over the shared region, as fio's numjobs on one file.
  const r: BlockResult = await runBlock({ file, size: SIZE, pattern: 'randread', bs: '4k', direct: true, engine, qd, jobs, duration: `${SECONDS}s`, warmup: `${WARMUP}s` }, { via });
  return { iops: r.iops, mean: r.latency_ns.mean, p50: r.latency_ns.percentiles['50']!, p99: r.latency_ns.percentiles['99']!, cpu_per_op: r.cpu.per_op_ns };
}

function med<T extends Sample>(xs: T[]): Sample {
  return { iops: median(xs.map((x) => x.iops)), mean: median(xs.map((x) => x.mean)), p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)) };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(process.env.BENCH_DIR || tmpdir(), `isoprobe-bench-${process.pid.toString(36)}-`));
  const file = join(dir, 'bench.dat');
  try {
    // Lay the file out once (isoprobe creates and fills it); both tools then read the same blocks.
    await runBlock({ file, size: SIZE, engine: 'null', duration: '1ms', warmup: '0ns' });
    console.log(`isoprobe vs fio: 4 KiB random read, O_DIRECT, ${SIZE} file, ${REPS} interleaved pairs of ${SECONDS} s (+${WARMUP} s warm-up)`);
    console.log(`machine: ${machine()}\n`);
    console.log(`${'metric'.padEnd(52)} ${'isoprobe'.padStart(12)} ${'peer'.padStart(12)} ${'ratio'.padStart(7)}  goal`);

    const psync = await interleave(REPS, () => iso(file, 'psync', 1, 'binary'), () => fio(file, 'psync', 1));
    const a = med(psync.a);
    const f = med(psync.b);
    const lines = [
      ratioLine('psync QD1 IOPS (isoprobe / fio)', a.iops, f.iops, '>= 1.00', a.iops / f.iops >= 1),
      ratioLine('psync QD1 mean total latency ns (isoprobe / fio lat)', a.mean, f.mean, '<= 1.00', a.mean <= f.mean),
      ratioLine('psync QD1 p50 ns', a.p50, f.p50, '+-5 %', Math.abs(a.p50 / f.p50 - 1) <= 0.05),
      ratioLine('psync QD1 p99 ns', a.p99, f.p99, '+-5 %', Math.abs(a.p99 / f.p99 - 1) <= 0.05),
    ];
    lines.forEach((l) => console.log(l));

    const uring = await interleave(REPS, () => iso(file, 'io_uring', 32, 'binary'), () => fio(file, 'io_uring', 32));
    const u = med(uring.a);
    const fu = med(uring.b);
    const l2 = ratioLine('io_uring QD32 IOPS (isoprobe / fio)', u.iops, fu.iops, '>= 1.00', u.iops / fu.iops >= 1);
    console.log(l2);
    lines.push(l2);

    const jobs = await interleave(REPS, () => iso(file, 'io_uring', 8, 'binary', 4), () => fio(file, 'io_uring', 8, 4));
    const j = med(jobs.a);
    const fj = med(jobs.b);
    const lj = ratioLine('io_uring 4 jobs x QD8 IOPS (--jobs 4 / --numjobs=4)', j.iops, fj.iops, '>= 0.97', j.iops / fj.iops >= 0.97);
    console.log(lj);
    lines.push(lj);

    const nulls = await interleave(REPS, () => iso(file, 'null', 1, 'binary'), () => iso(file, 'null', 1, 'addon'));
    const perOp = median(nulls.a.map((x) => 1e9 / x.iops));
    const l3 = `${'null engine QD1: probe cost per op, ns (static)'.padEnd(52)} ${perOp.toFixed(1).padStart(12)} ${''.padStart(12)} ${''.padStart(7)}  ${'< 100'.padEnd(10)} ${perOp < 100 ? 'met' : 'NOT MET'}`;
    console.log(l3);
    lines.push(l3);

    const av = await interleave(REPS, () => iso(file, 'psync', 1, 'addon'), () => iso(file, 'psync', 1, 'binary'));
    const ad = med(av.a);
    const bi = med(av.b);
    const l4 = ratioLine('psync QD1 IOPS, addon / static binary', ad.iops, bi.iops, '+-3 %', Math.abs(ad.iops / bi.iops - 1) <= 0.03);
    console.log(l4);
    lines.push(l4);

    const saved = saveResults('block', { machine: machine(), reps: REPS, seconds: SECONDS, psync, uring, jobs, nulls, addon_vs_binary: av, lines });
    console.log(`\nraw samples: ${saved}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
