// One fio job file on the host through fio and through `isoprobe run --fio`, interleaved: per job
// and direction, the median over pairs of the IOPS ratio isoprobe/fio and the p50 ratio fio/isoprobe
// (goal: each >= 0.97, isoprobe no slower than fio), and whether they also agree within 3 %.
//   node dist/bench/fio-vs.js [JOB.fio]    (default examples/rand-read-depths.fio)
//   BENCH_REPS pairs (default 5); BENCH_RUNTIME seconds per job and BENCH_CPU (a CPU both tools'
//   jobs are pinned to: cpus_allowed), each set in [global] for both tools
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { parseFioJobFile } from '../lib/formats/fio-job';
import { packageRoot } from '../lib/paths';
import { normalizeBlockOptions } from '../lib/probe/options';
import { interleave, machine, median, run, saveResults } from './common';

const REPS = Number(process.env.BENCH_REPS || 5);
const RUNTIME = process.env.BENCH_RUNTIME;
const CPU = process.env.BENCH_CPU;
const GOAL = 0.97;

/** Per job and direction ("qd8 read"): IOPS and p50 latency in ns. */
type Sample = Record<string, { iops: number; p50: number }>;

/** The job file with lines added at the top of its first [global] (one made when it has none). */
function withGlobal(text: string, extra: string[]): string {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.trim() === '[global]');
  if (at < 0) return ['[global]', ...extra, ...lines].join('\n');
  lines.splice(at + 1, 0, ...extra);
  return lines.join('\n');
}

interface FioDir { iops: number; lat_ns: { percentile?: Record<string, number>; bins?: Record<string, number> }; total_ios: number }

/** fio's p50 of one direction over its clones (numjobs): from the json+ bins when there are several. */
function fioP50(dirs: FioDir[]): number {
  if (dirs.length === 1) return dirs[0]!.lat_ns.percentile!['50.000000']!;
  const bins = new Map<number, number>();
  for (const d of dirs) for (const [v, c] of Object.entries(d.lat_ns.bins ?? {})) bins.set(Number(v), (bins.get(Number(v)) ?? 0) + c);
  const sorted = [...bins].sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((n, [, c]) => n + c, 0);
  let seen = 0;
  for (const [v, c] of sorted) if ((seen += c) >= total / 2) return v;
  return NaN;
}

/** Per job and direction, from fio's json+ output: the reader both tools' output goes through. */
function fioSample(stdout: string): Sample {
  const jobs = (JSON.parse(stdout.slice(stdout.indexOf('{'))) as { jobs: ({ jobname: string } & Record<'read' | 'write', FioDir>)[] }).jobs;
  const out: Sample = {};
  for (const name of new Set(jobs.map((j) => j.jobname))) {
    const clones = jobs.filter((j) => j.jobname === name);
    for (const d of ['read', 'write'] as const) {
      if (!clones.some((j) => j[d].total_ios > 0)) continue;
      out[`${name} ${d}`] = { iops: clones.reduce((n, j) => n + j[d].iops, 0), p50: fioP50(clones.map((j) => j[d])) };
    }
  }
  return out;
}

async function viaFio(file: string): Promise<Sample> {
  const r = await run('fio', ['--output-format=json+', file], 600_000);
  if (r.code !== 0) throw new Error(`fio ${file} failed: ${r.stderr}`);
  return fioSample(r.stdout);
}

/** isoprobe's side written as fio's json+ (--format fio-json), read by the same reader as fio's. */
async function viaIsoprobe(file: string, data: string): Promise<Sample> {
  const r = await run(process.execPath, [join(packageRoot(), 'bin', 'isoprobe.js'), 'run', '--target', 'host', '--data-file', data, '--fio', file, '--format', 'fio-json'], 600_000);
  if (r.code !== 0) throw new Error(`isoprobe run --fio ${file} failed: ${r.stderr}`);
  return fioSample(r.stdout);
}

async function main(): Promise<void> {
  const job = process.argv[2] ?? join(packageRoot(), 'examples', 'rand-read-depths.fio');
  const text = readFileSync(job, 'utf8');
  const parsed = parseFioJobFile(text, job);
  const dir = mkdtempSync(join(process.env.BENCH_DIR || tmpdir(), `isoprobe-fio-vs-${process.pid.toString(36)}-`));
  const data = join(dir, 'data.dat');
  try {
    // Both tools read the same file: the job file's own lines plus its name (and the runtime asked for).
    const shared = withGlobal(text, [`filename=${data}`, ...(RUNTIME ? [`runtime=${RUNTIME}`] : []), ...(CPU ? [`cpus_allowed=${CPU}`] : [])]);
    // fio alone: isoprobe's random offsets are uniform with no coverage map (fio's norandommap), and its
    // latency is submission to completion (fio's lat, whose percentiles fio reports with lat_percentiles).
    const forFio = withGlobal(shared, ['norandommap', 'lat_percentiles=1']);
    const [isoFile, fioFile] = [join(dir, basename(job)), join(dir, `fio-${basename(job)}`)];
    writeFileSync(isoFile, shared);
    writeFileSync(fioFile, forFio);
    // Lay the data file out once, at the largest job's size: isoprobe creates and fills it.
    const size = Math.max(...parsed.jobs.map((j) => normalizeBlockOptions({ ...j.options, file: data }).size));
    await viaIsoprobe(writeLayout(dir, size), data);
    console.log(`isoprobe run --fio vs fio ${basename(job)}: ${parsed.jobs.length} jobs, ${REPS} interleaved pairs${RUNTIME ? `, runtime=${RUNTIME}` : ''}${CPU ? `, cpus_allowed=${CPU}` : ''}; fio also gets norandommap, lat_percentiles=1`);
    console.log(`machine: ${machine()}\n`);
    const pairs = await interleave(REPS, () => viaIsoprobe(isoFile, data), () => viaFio(fioFile));
    // Both ratios read "isoprobe relative to fio, higher is better for isoprobe": IOPS isoprobe/fio,
    // p50 fio/isoprobe. The goal: each >= 0.97; "within 3 %" also asks that neither exceeds 1/0.97.
    const rows: { key: string; iops: number; p50: number; goal: boolean; within: boolean }[] = [];
    console.log(`${'job direction'.padEnd(20)} ${'isoprobe IOPS'.padStart(13)} ${'fio IOPS'.padStart(9)} ${'iso/fio'.padStart(7)}  ${'isoprobe p50'.padStart(12)} ${'fio p50'.padStart(10)} ${'fio/iso'.padStart(7)}  ${`>= ${GOAL}`.padEnd(8)} within 3 %`);
    for (const key of Object.keys(pairs.a[0]!)) {
      const ri = median(pairs.a.map((a, i) => a[key]!.iops / pairs.b[i]![key]!.iops));
      const rp = median(pairs.a.map((a, i) => pairs.b[i]![key]!.p50 / a[key]!.p50));
      const goal = ri >= GOAL && rp >= GOAL;
      const within = goal && ri <= 1 / GOAL && rp <= 1 / GOAL;
      const [mi, mf] = [median(pairs.a.map((a) => a[key]!.iops)), median(pairs.b.map((b) => b[key]!.iops))];
      const [pi, pf] = [median(pairs.a.map((a) => a[key]!.p50)), median(pairs.b.map((b) => b[key]!.p50))];
      console.log(`${key.padEnd(20)} ${mi.toFixed(0).padStart(13)} ${mf.toFixed(0).padStart(9)} ${ri.toFixed(3).padStart(7)}  ${(pi / 1e3).toFixed(1).padStart(9)} µs ${(pf / 1e3).toFixed(1).padStart(7)} µs ${rp.toFixed(3).padStart(7)}  ${(goal ? 'met' : 'NOT MET').padEnd(8)} ${within ? 'yes' : 'no'}`);
      rows.push({ key, iops: ri, p50: rp, goal, within });
    }
    console.log(`\nraw samples: ${saveResults('fio-vs', { machine: machine(), job, reps: REPS, runtime: RUNTIME, cpu: CPU, pairs, rows })}`);
    if (rows.some((r) => !r.goal)) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A one-job file whose run makes isoprobe create and fill the data file at `size`. */
function writeLayout(dir: string, size: number): string {
  const f = join(dir, 'layout.fio');
  writeFileSync(f, `; lays the data file out\n[layout]\nrw=read\nbs=1m\nsize=${size}\nruntime=1\nramp_time=0\ntime_based\n`);
  return f;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
