// fio json+ out: fio's own reader (fio_jsonplus_clat2csv) takes isoprobe's output and its
// cumulative counts give isoprobe's percentiles back within one histogram bucket.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { fioJson, fioPercentileKey } from '../../lib/formats/fio-json';
import type { BlockResult } from '../../lib/probe/types';
import { PERCENTILES } from '../../lib/stats/histogram';
import { runCli, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

const TOOL = ['/usr/bin', '/usr/local/bin'].map((d) => join(d, 'fio_jsonplus_clat2csv')).find(existsSync);
const noTool = TOOL ? undefined : 'fio_jsonplus_clat2csv is not installed (Debian package fio; scripts/setup.sh bench installs it)';

/** fio_jsonplus_clat2csv's CSV of one job, per direction: [nsec, cumulative fraction] of clat. */
function clatRows(csv: string, dir: 'read' | 'write'): [number, number][] {
  const [head, ...lines] = csv.split('\n').filter((l) => l.trim());
  const cols = head!.split(',').map((c) => c.trim());
  const at = cols.indexOf(`${dir}_clat_ns_percentile`);
  return lines.map((l) => l.split(',').map((c) => c.trim())).filter((c) => c[at] !== '').map((c) => [Number(c[0]), Number(c[at])]);
}

/** The nearest-rank percentile read off the tool's cumulative column: the first row at or past p. */
function percentileFromCsv(rows: [number, number][], p: number): number {
  // Cumulative fractions are count/total in floating point: allow for its last bit.
  return rows.find(([, frac]) => frac >= p / 100 - 1e-12)![0];
}

testIf(noTool, test)('fio_jsonplus_clat2csv reads a randrw block result and gives its percentiles per direction' + why(noTool), (t) => {
  const r = runCli(['block', '--file', join(tmp.dir, 'rw.dat'), '--size', '8M', '--duration', '300ms', '--warmup', '50ms', '--pattern', 'randrw', '--json']);
  t.is(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as BlockResult;
  type Dir = { total_ios: number; bw: number; clat_ns: { percentile: Record<string, number> } };
  const doc = fioJson([{ name: 'rw', result }]) as { jobs: Record<'read' | 'write', Dir>[] };
  const job = doc.jobs[0]!;
  for (const dir of ['read', 'write'] as const) {
    const own = result[dir]!;
    t.is(job[dir].total_ios, own.ops, `${dir}: total_ios`);
    t.is(job[dir].bw, Math.floor(own.bytes / (result.elapsed_ns / 1e9) / 1024), `${dir}: bw in KiB/s`);
    const pct = job[dir].clat_ns.percentile;
    for (const p of PERCENTILES) t.is(pct[fioPercentileKey(p)], own.latency_ns.percentiles[p], `${dir} clat percentile ${fioPercentileKey(p)}`);
  }
  const file = join(tmp.dir, 'rw.json');
  writeFileSync(file, JSON.stringify(doc));
  const c = spawnSync(TOOL!, [file, join(tmp.dir, 'rw.csv')], { encoding: 'utf8', timeout: 60_000 });
  t.is(c.status, 0, c.stderr);
  const v = spawnSync(TOOL!, [file, join(tmp.dir, 'rw.csv'), '--validate'], { encoding: 'utf8', timeout: 60_000 });
  t.is(v.status, 0, `the tool's own check of its CSV against the JSON: ${v.stderr}`);
  const csv = readFileSync(join(tmp.dir, 'rw_job0.csv'), 'utf8');
  for (const dir of ['read', 'write'] as const) {
    const rows = clatRows(csv, dir);
    t.is(rows.length, result[dir]!.latency_ns.histogram!.buckets.length, `${dir}: a CSV row per occupied bucket`);
    for (const p of PERCENTILES) {
      const theirs = percentileFromCsv(rows, Number(p));
      const ours = result[dir]!.latency_ns.percentiles[p]!;
      t.true(Math.abs(theirs - ours) <= ours / 256, `${dir} p${p}: fio's reader ${theirs} ns, isoprobe ${ours} ns (one bucket is 1/256)`);
    }
  }
});

testIf(noTool, test)('isoprobe export --format fio-json of a stored run gives a job per block repetition that the tool reads' + why(noTool), (t) => {
  const db = join(tmp.dir, 'runs.db');
  const suite = join(tmp.dir, 'suite.yaml');
  writeFileSync(suite, 'name: fmt\nduration: 200ms\nwarmup: 50ms\nworkloads:\n  - { name: rr4k, kind: block, options: { pattern: randread, bs: 4k, size: 8M } }\n  - { name: w4k, kind: block, options: { pattern: write, bs: 4k, size: 8M } }\n');
  const c = runCli(['compare', '--targets', 'host', '--suite', suite, '--reps', '2', '--db', db]);
  t.is(c.code, 0, c.stderr);
  const out = join(tmp.dir, 'run.json');
  const e = runCli(['export', '--db', db, '--format', 'fio-json', '--output', out, '1']);
  t.is(e.code, 0, e.stderr);
  const doc = JSON.parse(readFileSync(out, 'utf8')) as { jobs: { jobname: string; read: { total_ios: number }; write: { total_ios: number } }[] };
  t.deepEqual(doc.jobs.map((j) => j.jobname).sort(), ['rr4k/host/1', 'rr4k/host/2', 'w4k/host/1', 'w4k/host/2']);
  for (const j of doc.jobs) t.true(j.jobname.startsWith('rr4k') ? j.read.total_ios > 0 && j.write.total_ios === 0 : j.write.total_ios > 0 && j.read.total_ios === 0, `${j.jobname}: its I/O on its pattern's side`);
  const r = spawnSync(TOOL!, [out, join(tmp.dir, 'run.csv')], { encoding: 'utf8', timeout: 60_000 });
  t.is(r.status, 0, r.stderr);
  t.is(readdirSync(tmp.dir).filter((f) => /^run_job\d+\.csv$/.test(f)).length, 4);
});
