// The one list of metrics: what each is, its unit, which way is better, which results have it and
// how it is read off one. Tables, the store's exports, the report, the trend and the gate all read
// it, so a metric is added here once.
import type { TargetResult } from '../targets/types';
import { formatNs } from '../units';

export type ResultKind = 'block' | 'tcp_rr' | 'udp_rr' | 'tcp_stream';
const ALL: readonly ResultKind[] = ['block', 'tcp_rr', 'udp_rr', 'tcp_stream'];
const RR: readonly ResultKind[] = ['tcp_rr', 'udp_rr'];
const LATENCY: readonly ResultKind[] = ['block', ...RR];

export interface MetricDef {
  /** Its name on the command line (--metric), in the store's exports and the gate's cells. */
  name: string;
  /** What it is, for help texts and report legends. */
  title: string;
  better: 'lower' | 'higher';
  /** The unit of value(): what exports (OpenMetrics, Bencher) convert from and name. */
  unit: 'ns' | 'ms' | 'MiB' | 'Gbit/s' | 'ops/s' | 'ops/CPU-s' | 'ratio';
  /** The result kinds that have it. */
  kinds: readonly ResultKind[];
  /** The kinds the gate and the trend take it for unless --metric says otherwise. */
  gated: readonly ResultKind[];
  /**
   * The gate's own noise threshold for it (relative change), when it differs from --threshold:
   * host-side figures are noisier than the probe's own.
   */
  threshold?: number;
  /** Measured once per session, not per repetition (a container's start-up): a side of one value has no spread to test. */
  perSession?: (r: TargetResult) => boolean;
  value(r: TargetResult): number | undefined;
  format(v: number): string;
}

const pct = (k: string) => (r: TargetResult) => r.latency_ns?.percentiles[k];
const count = (v: number, unit: string) => `${Math.round(v).toLocaleString('en-US')} ${unit}`;

/** The operations of a result's measured window: I/Os, transactions, or bytes of a stream. */
export function windowOps(r: TargetResult): number | undefined {
  if (r.kind === 'block') return r.ops;
  if (r.kind === 'tcp_stream') return r.options.reverse ? r.bytes_received : r.bytes_sent;
  return r.transactions;
}

/** The probe's own CPU over its measured window, ns (as the probe's kernel accounts it). */
export function probeCpuNs(r: TargetResult): number | undefined {
  const c = r.cpu as { window_ns?: number; user_ns: number; sys_ns: number } | undefined;
  if (!c) return undefined;  // a result that never recorded the probe's CPU
  if (typeof c.window_ns === 'number') return c.window_ns;
  return r.kind === 'block' ? c.user_ns + c.sys_ns : undefined;
}

function hostPerOp(r: TargetResult): number | undefined {
  const ops = windowOps(r);
  return r.host_cpu && ops ? r.host_cpu.total_ns / ops : undefined;
}

export const METRIC_DEFS = [
  { name: 'p50', title: 'median latency', better: 'lower', unit: 'ns', kinds: LATENCY, gated: LATENCY, value: pct('50'), format: (v) => formatNs(v) },
  { name: 'p90', title: '90th percentile latency', better: 'lower', unit: 'ns', kinds: LATENCY, gated: [], value: pct('90'), format: (v) => formatNs(v) },
  { name: 'p99', title: '99th percentile latency', better: 'lower', unit: 'ns', kinds: LATENCY, gated: LATENCY, value: pct('99'), format: (v) => formatNs(v) },
  { name: 'p99.9', title: '99.9th percentile latency', better: 'lower', unit: 'ns', kinds: LATENCY, gated: [], value: pct('99.9'), format: (v) => formatNs(v) },
  { name: 'mean', title: 'mean latency', better: 'lower', unit: 'ns', kinds: LATENCY, gated: [], value: (r) => r.latency_ns?.mean, format: (v) => formatNs(v) },
  { name: 'iops', title: 'I/O operations per second', better: 'higher', unit: 'ops/s', kinds: ['block'], gated: ['block'], value: (r) => (r.kind === 'block' ? r.iops : undefined), format: (v) => count(v, 'IOPS') },
  { name: 'tps', title: 'transactions per second', better: 'higher', unit: 'ops/s', kinds: RR, gated: RR, value: (r) => (r.kind === 'block' ? undefined : r.tps), format: (v) => count(v, 'tx/s') },
  { name: 'gbps', title: 'stream throughput', better: 'higher', unit: 'Gbit/s', kinds: ['tcp_stream'], gated: ['tcp_stream'], value: (r) => (r.kind === 'tcp_stream' && r.bits_per_s !== undefined ? r.bits_per_s / 1e9 : undefined), format: (v) => `${v.toFixed(2)} Gbit/s` },
  {
    name: 'host_cpu_per_op', title: "host CPU per operation, every role of the boundary (per byte for streams)", better: 'lower', unit: 'ns', kinds: ALL, gated: ALL, threshold: 0.1,
    value: hostPerOp, format: (v) => (v < 10 ? `${v.toFixed(3)} ns` : formatNs(v)),
  },
  {
    name: 'ops_per_host_cpu_s', title: 'operations per host CPU-second (bytes for streams)', better: 'higher', unit: 'ops/CPU-s', kinds: ALL, gated: [], threshold: 0.1,
    value: (r) => { const v = hostPerOp(r); return v ? 1e9 / v : undefined; }, format: (v) => count(v, '/CPU-s'),
  },
  {
    name: 'overhead', title: "the boundary's host CPU over the probe's own CPU (the host target: ~1.0, a check of the accounting)", better: 'lower', unit: 'ratio', kinds: ALL, gated: [], threshold: 0.1,
    value: (r) => { const p = probeCpuNs(r); return r.host_cpu && p ? r.host_cpu.total_ns / p : undefined; }, format: (v) => `${v.toFixed(2)}x`,
  },
  {
    name: 'startup_ms', title: "start-up: launch call to the probe's first line or frame (a VM's boot; a container's create + start)", better: 'lower', unit: 'ms', kinds: ALL, gated: ALL, threshold: 0.1,
    perSession: (r) => r.target.kind !== 'vm', value: (r) => (r.startup && r.startup.ns > 0 ? r.startup.ns / 1e6 : undefined), format: (v) => `${v.toFixed(0)} ms`,
  },
  {
    name: 'host_mem_mib', title: "the boundary's host memory at the workload's end (PSS of its processes; a VMM's RSS)", better: 'lower', unit: 'MiB', kinds: ALL, gated: ALL, threshold: 0.1,
    value: (r) => (r.host_memory ? r.host_memory.pss_bytes / 2 ** 20 : undefined), format: (v) => `${v.toFixed(1)} MiB`,
  },
  {
    // Of a whole sweep's curve, not of one result (knee-cells.ts builds its cells per repetition).
    name: 'knee_throughput', title: "a sweep's knee: the highest throughput whose p99 stays within 2x of the curve's lowest", better: 'higher', unit: 'ops/s', kinds: [], gated: [],
    value: () => undefined, format: (v) => Math.round(v).toLocaleString('en-US'),
  },
] as const satisfies readonly MetricDef[];

export type Metric = (typeof METRIC_DEFS)[number]['name'];
export const METRICS = METRIC_DEFS.map((m) => m.name) as Metric[];

/** The metrics a single result has (all but a sweep's knee): what the trend can plot. */
export const RESULT_METRICS = (METRIC_DEFS as readonly MetricDef[]).filter((d) => d.kinds.length).map((d) => d.name as Metric);

/** The host-cost metrics: their own noise threshold (ab --cost-threshold). */
export const COST_METRICS = (METRIC_DEFS as readonly MetricDef[]).filter((d) => d.threshold !== undefined).map((d) => d.name as Metric);

export function metricDef(m: Metric | string): MetricDef {
  const d = (METRIC_DEFS as readonly MetricDef[]).find((x) => x.name === m);
  if (!d) throw new Error(`no metric ${m}`);
  return d;
}

export function higherIsWorse(m: Metric): boolean {
  return metricDef(m).better === 'lower';
}

/** The metrics the gate takes for a result kind by default. */
export function gatedMetrics(kind: string): Metric[] {
  return (METRIC_DEFS as readonly MetricDef[]).filter((d) => d.gated.includes(kind as ResultKind)).map((d) => d.name as Metric);
}

export function formatMetric(m: Metric, v: number): string {
  return Number.isFinite(v) ? metricDef(m).format(v) : '-';
}
