// What tracing a run costs (--where): interleaved pairs of the same host workload with attribution
// on and off, the shift of p50, p99 and IOPS (each pair's ratio, the median over pairs), and the
// tracer's own CPU from the kernel's per-program run time (kernel.bpf_stats_enabled, switched on
// for separate traced runs only, since timing the programs costs time of its own). Goal: <= 2 %.
//   node dist/bench/trace-cost.js        (BENCH_PAIRS, BENCH_SECONDS, BENCH_DIR to change)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { makeTarget } from '../lib/targets';
import type { TargetResult } from '../lib/targets/types';
import { traceUnavailable } from '../lib/trace';
import type { AttributionField } from '../lib/trace/attribution';
import { interleave, machine, median, saveResults } from './common';

const PAIRS = Number(process.env.BENCH_PAIRS || 8);
const SECONDS = Number(process.env.BENCH_SECONDS || 2);
const STATS = '/proc/sys/kernel/bpf_stats_enabled';

const WORKLOADS: { name: string; options: Record<string, unknown> }[] = [
  { name: 'direct psync QD1 4k randread', options: { pattern: 'randread', bs: '4k', direct: true, engine: 'psync' } },
  { name: 'direct io_uring QD8 4k randread', options: { pattern: 'randread', bs: '4k', direct: true, engine: 'io_uring', qd: 8 } },
  { name: 'page cache psync 4k randread (64M)', options: { pattern: 'randread', bs: '4k', direct: false, engine: 'psync', size: '64M' } },
];

interface Sample { p50: number; p99: number; iops: number; attribution?: AttributionField }

async function measure(dataFile: string, options: Record<string, unknown>, traced: boolean): Promise<Sample> {
  const s = await makeTarget('host').start({ dataFile, dataSize: 256 * 2 ** 20, attribution: traced });
  try {
    const r = (await s.run({ kind: 'block', options: { ...options, cpus: 'auto', duration: `${SECONDS}s`, warmup: '300ms' } as never })) as TargetResult & { iops: number; attribution?: AttributionField };
    if (traced && (!r.attribution || 'unavailable' in r.attribution)) throw new Error(`the traced run has no attribution: ${JSON.stringify(r.attribution)}`);
    return { p50: r.latency_ns!.percentiles['50']!, p99: r.latency_ns!.percentiles['99']!, iops: r.iops, attribution: r.attribution };
  } finally {
    await s.stop();
  }
}

/** The median over pairs of on/off - 1, as a signed percentage. */
function shift(on: number[], off: number[]): string {
  const r = median(on.map((x, i) => x / off[i]! - 1)) * 100;
  return `${r >= 0 ? '+' : ''}${r.toFixed(1)} %`;
}

/** The tracer's CPU per operation and per second of a traced run, with the kernel timing its programs. */
async function tracerCpu(dataFile: string, options: Record<string, unknown>): Promise<{ per_op_ns?: number; share_of_one_cpu?: number; why?: string }> {
  const before = readFileSync(STATS, 'utf8').trim();
  writeFileSync(STATS, '1');
  try {
    const a = (await measure(dataFile, options, true)).attribution!;
    if ('unavailable' in a || a.tracer.cpu_ns === undefined) return { why: 'unavailable' in a ? a.unavailable : a.tracer.cpu_unknown };
    return { per_op_ns: a.tracer.cpu_per_op_ns, share_of_one_cpu: a.tracer.cpu_ns / (a.window.ns + 0.3e9) };
  } finally {
    writeFileSync(STATS, before);
  }
}

async function main(): Promise<void> {
  const why = traceUnavailable();
  if (why) throw new Error(`the tracer cannot run here: ${why}`);
  const dir = mkdtempSync(join(process.env.BENCH_DIR || '/var/tmp', `isoprobe-trace-cost-${process.pid.toString(36)}-`));
  const dataFile = join(dir, 'data.dat');
  const rows: Record<string, unknown>[] = [];
  try {
    console.log(`the tracer's cost: ${PAIRS} interleaved pairs (ABBA) of ${SECONDS} s per workload, host target, attribution on vs off`);
    console.log(`machine: ${machine()}\n`);
    console.log(`${'workload'.padEnd(38)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'IOPS'.padStart(8)}  tracer CPU/op  of one CPU  goal <= 2 %`);
    for (const w of WORKLOADS) {
      const pairs = await interleave(PAIRS, () => measure(dataFile, w.options, true), () => measure(dataFile, w.options, false));
      const col = (k: 'p50' | 'p99' | 'iops') => [pairs.a.map((x) => x[k]), pairs.b.map((x) => x[k])] as const;
      const [p50, p99, iops] = [shift(...col('p50')), shift(...col('p99')), shift(...col('iops'))];
      const cpu = await tracerCpu(dataFile, w.options);
      const met = Math.abs(parseFloat(p50)) <= 2 && Math.abs(parseFloat(iops)) <= 2;
      const cpuText = cpu.per_op_ns !== undefined ? `${cpu.per_op_ns.toFixed(0)} ns`.padStart(13) + `${(cpu.share_of_one_cpu! * 100).toFixed(1)} %`.padStart(12) : `(${cpu.why})`;
      console.log(`${w.name.padEnd(38)} ${p50.padStart(8)} ${p99.padStart(8)} ${iops.padStart(8)}  ${cpuText}  ${met ? 'met' : 'NOT MET'}`);
      rows.push({ workload: w.name, options: w.options, p50_shift: p50, p99_shift: p99, iops_shift: iops, tracer_cpu: cpu, on: pairs.a.map(({ attribution: _, ...x }) => x), off: pairs.b.map(({ attribution: _, ...x }) => x) });
    }
    console.log(`\nshift: the median over pairs of (traced / untraced - 1); p99 moves with the machine's other load as much as with the tracer`);
    console.log(`results: ${saveResults('trace-cost', { machine: machine(), pairs: PAIRS, seconds: SECONDS, rows })}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
