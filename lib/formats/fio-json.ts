// fio's `--output-format=json+`, the subset fio's own tools read (jobs, read/write/trim, iops, bw,
// clat_ns/lat_ns with percentiles and the json+ bins), written from isoprobe block results so that
// pipelines built on fio (fio_jsonplus_clat2csv, fio-plot, ...) take them unchanged.
import type { BlockResult, HistogramJson, LatencyJson } from '../probe/types';
import { bucketHigh, bucketLow, PERCENTILES } from '../stats/histogram';

/** One fio job: a block result and the name it is shown under (workload/target/rep). */
export interface FioJob {
  name: string;
  result: BlockResult;
}

interface Direction {
  ops: number;
  bytes: number;
  elapsed_ns: number;
  latency_ns?: LatencyJson;
}

/**
 * The json+ bins: each occupied bucket's representative value (its midpoint clamped to [min, max],
 * the value isoprobe's nearest-rank percentiles report) with its count. fio's own bins are the
 * values of its own buckets; a reader that walks cumulative counts gets isoprobe's percentiles back.
 */
export function fioBins(h: HistogramJson): Record<string, number> {
  const bins: Record<string, number> = {};
  for (const [i, c] of h.buckets) {
    const lo = bucketLow(i, h.sub_bucket_bits);
    const mid = lo + Math.floor((bucketHigh(i, h.sub_bucket_bits) - lo) / 2);
    const key = String(Math.min(h.max, Math.max(h.min, mid)));
    bins[key] = (bins[key] ?? 0) + c;
  }
  return bins;
}

/** fio's percentile keys: "50.000000", "99.900000". */
export function fioPercentileKey(p: string): string {
  return Number(p).toFixed(6);
}

function latency(l: LatencyJson | undefined, withBins: boolean): Record<string, unknown> {
  if (!l || !l.count) return { min: 0, max: 0, mean: 0, stddev: 0, N: 0 };
  const out: Record<string, unknown> = { min: l.min, max: l.max, mean: l.mean, stddev: l.stdev, N: l.count };
  out.percentile = Object.fromEntries(PERCENTILES.filter((p) => l.percentiles[p] !== undefined).map((p) => [fioPercentileKey(p), l.percentiles[p]]));
  if (withBins && l.histogram) out.bins = fioBins(l.histogram);
  return out;
}

function direction(d: Direction | undefined): Record<string, unknown> {
  const ops = d?.ops ?? 0;
  const bytes = d?.bytes ?? 0;
  const s = d && d.elapsed_ns > 0 ? d.elapsed_ns / 1e9 : 0;
  const bwBytes = s ? Math.round(bytes / s) : 0;
  return {
    io_bytes: bytes, io_kbytes: Math.floor(bytes / 1024), bw_bytes: bwBytes, bw: Math.floor(bwBytes / 1024),
    iops: s ? ops / s : 0, runtime: d ? Math.round(d.elapsed_ns / 1e6) : 0, total_ios: ops, short_ios: 0, drop_ios: 0,
    slat_ns: { min: 0, max: 0, mean: 0, stddev: 0, N: 0 },
    // isoprobe times each I/O from its submission to its completion: fio's clat for the sync
    // engines, and its lat (slat is not split out, so it stays zero as above).
    clat_ns: latency(d?.latency_ns, true),
    lat_ns: latency(d?.latency_ns, false),
  };
}

/** A result's read and write sides: its own split for mixed patterns, else all of it on its pattern's side. */
function sides(r: BlockResult): { read?: Direction; write?: Direction } {
  const el = r.elapsed_ns;
  if (r.read || r.write) {
    return { read: r.read && { ...r.read, elapsed_ns: el }, write: r.write && { ...r.write, elapsed_ns: el } };
  }
  const all: Direction = { ops: r.ops, bytes: r.bytes, elapsed_ns: el, latency_ns: r.latency_ns };
  return /read/.test(r.options.pattern) ? { read: all } : { write: all };
}

/** The fio job options a reader would look for, in fio's own names. */
function jobOptions(r: BlockResult): Record<string, string> {
  const o = r.options;
  return { rw: o.pattern, bs: String(o.bs), iodepth: String(o.qd), ioengine: o.engine, direct: o.direct ? '1' : '0', numjobs: String(o.jobs), size: String(o.size) };
}

/** The json+ document for these jobs. */
export function fioJson(jobs: FioJob[]): Record<string, unknown> {
  const now = Date.now();
  return {
    'fio version': `isoprobe-probe-${jobs[0]?.result.probe.version ?? '?'}`,  // the probe that measured
    timestamp: Math.floor(now / 1000),
    timestamp_ms: now,
    time: new Date(now).toUTCString(),
    'global options': {},
    jobs: jobs.map(({ name, result }, i) => {
      const s = sides(result);
      return {
        jobname: name, groupid: i, error: 0, eta: 0, elapsed: Math.round(result.elapsed_ns / 1e9),
        'job options': jobOptions(result),
        read: direction(s.read), write: direction(s.write), trim: direction(undefined),
        sync: { total_ios: 0, lat_ns: { min: 0, max: 0, mean: 0, stddev: 0, N: 0 } },
        job_runtime: Math.round(result.elapsed_ns / 1e6),
        usr_cpu: result.elapsed_ns ? (100 * result.cpu.user_ns) / result.elapsed_ns : 0,
        sys_cpu: result.elapsed_ns ? (100 * result.cpu.sys_ns) / result.elapsed_ns : 0,
        ctx: result.cpu.ctx_voluntary + result.cpu.ctx_involuntary,
      };
    }),
  };
}
