// The one list of metrics: what each is, its unit, which way is better, which result kinds have it,
// how it is read off a result, how it is written, which noise threshold judges it, and whether the
// comparison table shows it. The table (text and HTML), the CSV export, the trend and the gate all
// read it, so a metric is its entry here plus the code that measures it.
import type { NetResult } from '../probe/types';
import type { Attribution } from '../trace/attribution';
import type { NetAttribution, NetPerOp } from '../trace/net-attribution';
import type { TargetResult } from '../targets/types';
import { formatNs } from '../units';
import { KINDS, kindsWhere, type ResultKind, RESULT_KINDS, windowOps } from './kinds';
import { count, countScale, fineNs, fineNsScale, fixedScale, nsScale, plainScale, type Scale } from './metric-format';

export type { ResultKind } from './kinds';

/**
 * Which noise threshold the gate judges a metric by: 'time' the probe's own timings and rates
 * (--threshold), 'cost' host-side figures, noisier (--cost-threshold), 'count' event counts per
 * operation, near noise-free (--count-threshold; docs/attribution.md has their A/A noise).
 */
export type ThresholdClass = 'time' | 'count' | 'cost';

/** A class's threshold when the command line sets none ('time' and 'count': --threshold). */
export const CLASS_THRESHOLDS: Partial<Record<ThresholdClass, number>> = { cost: 0.1, count: 0.02 };

export interface MetricColumn {
  /** Its heading in the default table; "{op}" is the kind's operation (op, tx, B). */
  head: string;
  /** Its heading in the wide table and the HTML report; "{word}" is the operation's word (operation, transaction, byte). */
  long?: string;
  /** In the default table: with its interval, or the estimate alone; absent: --wide (and the HTML) only. */
  compact?: 'interval' | 'estimate';
  /** A line of the table's legend, when its heading does not say it all. */
  note?: string;
  /** Not in the HTML table (a figure there shows it). */
  html?: false;
  /** Shown only when a row of the block has it (a column of an opt-in measurement: --where). */
  whenMeasured?: true;
  /** The cell from the row's medians of any metrics, instead of this metric's own interval (`wide`: in words). */
  cell?: (median: (m: string) => number, wide: boolean) => string;
}

export interface MetricDef {
  /** Its name on the command line (--metric), in the store's exports and the gate's cells. */
  name: string;
  /** What it is, for help texts and report legends. */
  title: string;
  /** Its unit ('' where the kind's rate gives it). */
  unit: string;
  better: 'lower' | 'higher';
  /** The result kinds that have it. */
  kinds: readonly ResultKind[];
  /** The kinds the gate and the trend take it for unless --metric says otherwise. */
  gated: readonly ResultKind[];
  thresholdClass: ThresholdClass;
  /** Measured once per session, not per repetition (a container's start-up): a side of one value has no spread to test. */
  perSession?: (r: TargetResult) => boolean;
  value(r: TargetResult): number | undefined;
  /** A value in full, with its unit. */
  format(v: number): string;
  /** The scale of the compact tables (estimate and interval in one unit); without one, `format`. */
  scale?: (x: number) => Scale;
  /** A column of the comparison table, when it is one. */
  column?: MetricColumn;
  /** Its column name in the CSV export, where its name lacks the unit. */
  csv?: string;
  /** 0 is a value it can have (no device time: the page cache; no block request), not a failed measurement. */
  zeroIsValue?: true;
  /** From the host trace (--where): a result's own text shows it in its where lines, not as a metric line of its own. */
  traced?: true;
}

const ALL = RESULT_KINDS;
const LATENCY = kindsWhere((k) => k.latency);
const rateOfKinds = (m: string) => kindsWhere((k) => k.rate === m);
const pct = (k: string) => (r: TargetResult) => r.latency_ns?.percentiles[k];
const ns = (v: number) => formatNs(v);
const udp = (r: TargetResult) => (r as unknown as Partial<NetResult>).udp_stream;
const field = (k: 'iops' | 'tps' | 'bits_per_s') => (r: TargetResult) => (r as unknown as Partial<Record<typeof k, number>>)[k];

/** The probe's own CPU over its measured window, ns (as the probe's kernel accounts it). */
export function probeCpuNs(r: TargetResult): number | undefined {
  const c = r.cpu as { window_ns?: number; user_ns: number; sys_ns: number } | undefined;
  if (!c) return undefined;  // a result that never recorded the probe's CPU
  if (typeof c.window_ns === 'number') return c.window_ns;
  return KINDS[r.kind].cpuIsWindow ? c.user_ns + c.sys_ns : undefined;
}

function hostPerOp(r: TargetResult): number | undefined {
  const ops = windowOps(r);
  return r.host_cpu && ops ? r.host_cpu.total_ns / ops : undefined;
}

function latency<N extends string>(name: N, title: string, k: string, o: Omit<Partial<MetricDef>, 'name'> = {}) {
  return { name, title, unit: 'ns', better: 'lower', kinds: LATENCY, gated: [], thresholdClass: 'time', value: pct(k), format: ns, scale: nsScale, csv: `${name.replace('.', '')}_ns`, ...o } as const;
}
const cost = { kinds: ALL, thresholdClass: 'cost' } as const;

// --- Where the time goes (lib/trace, --where): each layer's mean time in a band of operations and
// the window's mechanism counts per operation, for block results (lib/trace/attribution.ts) and RR
// results (lib/trace/net-attribution.ts). Absent from results measured without a trace, so the
// gate, the table and the trend pass them by there.
const RR = kindsWhere((k) => k.mode === 'rr');
type AnyField = { unavailable: string; counts?: { per_op?: NetPerOp } };
const attributionOf = (r: TargetResult) => (r as { attribution?: Attribution | NetAttribution | AnyField }).attribution;
/** A block result's split (a field of the same name on an RR result is the network's). */
const where = (r: TargetResult): Attribution | undefined => {
  const a = attributionOf(r);
  return r.kind === 'block' && a && !('unavailable' in a) ? (a as Attribution) : undefined;
};
/** An RR result's split. */
const netWhere = (r: TargetResult): NetAttribution | undefined => {
  const a = attributionOf(r);
  return RR.includes(r.kind) && a && !('unavailable' in a) ? (a as NetAttribution) : undefined;
};
/** An RR result's counts per transaction: its split's, or the device's where no split was made (a VM's: the client is the guest's). */
const netPerOp = (r: TargetResult): NetPerOp | undefined => {
  const a = attributionOf(r);
  if (!RR.includes(r.kind) || !a) return undefined;
  return 'unavailable' in a ? a.counts?.per_op : (a as NetAttribution).per_op;
};
type Band = 'p50' | 'p99' | 'slowest_1pct';
const BAND_WORDS: Record<Band, string> = { p50: 'the p50 band', p99: 'the p99 band', slowest_1pct: 'the slowest 1 %' };

/** One layer of a split: its word, the stem of its metrics' names (`${stem}_p50`), its field in a band, what it is. */
export interface WhereLayer<S extends string = string> { label: string; stem: S; short: string; field: string; words: string }
/** The layers a kind's results are split into, in order (the table's where column, the report's bars). */
export interface WhereSplit<S extends string = string> { kinds: readonly ResultKind[]; layers: readonly [WhereLayer<S>, WhereLayer<S>, WhereLayer<S>]; whole: string }

const BLOCK_SPLIT = {
  kinds: ['block'], whole: 'latency',
  layers: [
    { label: 'device', stem: 'device', short: 'dev', field: 'device_ns', words: 'the device (block request issue to completion)' },
    { label: 'host kernel', stem: 'host_kernel', short: 'host', field: 'host_kernel_ns', words: 'the host kernel (the host I/O call minus its device time)' },
    { label: 'boundary', stem: 'boundary', short: 'bnd', field: 'boundary_ns', words: "the boundary (the probe's latency minus the host call)" },
  ],
} as const satisfies WhereSplit;
const RR_SPLIT = {
  kinds: RR, whole: 'round trip',
  layers: [
    { label: 'host path', stem: 'rr_host_path', short: 'path', field: 'host_path_ns', words: "the host path (the request's arrival on the boundary's host-side device to its reply leaving, less the server)" },
    { label: 'server', stem: 'rr_server', short: 'srv', field: 'server_ns', words: "the echo server (its receive's return to its send's entry)" },
    { label: 'boundary', stem: 'rr_boundary', short: 'bnd', field: 'boundary_ns', words: "the boundary (the client's round trip less the host path)" },
  ],
} as const satisfies WhereSplit;

/** What one operation of a split's kinds is called (kinds.ts): operation, transaction. */
export function opWord(split: WhereSplit): string {
  return KINDS[split.kinds[0]!].op.word;
}

/** The split of a kind's results (--where), if it has one. */
export function whereSplit(kind: ResultKind | undefined): WhereSplit | undefined {
  return ([BLOCK_SPLIT, RR_SPLIT] as WhereSplit[]).find((s) => kind !== undefined && s.kinds.includes(kind));
}

/** The time of one layer in one band, a mean over the band's operations (ns). */
function layerTime<N extends string>(name: N, band: Band, split: WhereSplit, layer: number, gated: boolean) {
  const l = split.layers[layer]!;
  const op = `${opWord(split)}s`;
  return {
    name, title: `time in ${l.words} over ${BAND_WORDS[band]} of ${op} (--where)`, unit: 'ns', better: 'lower', kinds: split.kinds, gated: gated ? split.kinds : [], thresholdClass: 'time', traced: true,
    value: (r: TargetResult) => ((where(r) ?? netWhere(r))?.split[band] as unknown as Record<string, number> | undefined)?.[l.field], format: ns, scale: nsScale, csv: `${name}_ns`, zeroIsValue: true,
  } as const;
}

/** A mechanism count per measured operation over the window. */
function perOpCount<N extends string>(name: N, title: string, f: (p: Attribution['per_op']) => number, gated: boolean) {
  return {
    name, title: `${title} per operation, over the measured window (--where)`, unit: '/op', better: 'lower', kinds: ['block'], gated: (gated ? ['block'] : []) as readonly ResultKind[], thresholdClass: 'count', traced: true,
    value: (r: TargetResult) => { const a = where(r); return a ? f(a.per_op) : undefined; }, format: (v: number) => `${v.toFixed(3)}/op`, scale: fixedScale('/op', 3), zeroIsValue: true,
  } as const;
}

/** A count per transaction of an RR result over the window: the split's, or the device's where it has no split (`value` overrides). */
function perTxCount<N extends string>(name: N, title: string, f: (p: NetPerOp) => number, gated: boolean) {
  return {
    name, title: `${title} per transaction, over the measured window (--where)`, unit: '/tx', better: 'lower', kinds: RR, gated: gated ? RR : [], thresholdClass: 'count', traced: true,
    value: (r: TargetResult) => { const p = netPerOp(r); return p ? f(p) : undefined; }, format: (v: number) => `${v.toFixed(3)}/tx`, scale: fixedScale('/tx', 3),
  } as const;
}

/**
 * The host system calls per operation of the roles that served the disk: every role (lib/cost's:
 * the probe, the Sentry, a VMM's I/O pool or vCPU) that made at least half an I/O call on the data
 * file per operation. Absent where no role did (nothing to say which threads carried the I/O).
 */
function ioRoleSyscalls(r: TargetResult): number | undefined {
  const roles = Object.values(where(r)?.by_role ?? {}).filter((c) => c && c.io_calls + c.uring_reqs >= 0.5);
  return roles.length ? roles.reduce((s, c) => s + c!.syscalls, 0) : undefined;
}

/**
 * The p50 band's split by layer, each layer's median over repetitions: "41/6/53" in the default
 * table (its legend names the layers), "dev 41% host 6% bnd 53%" in the wide one and the HTML.
 */
function whereCell(split: WhereSplit): NonNullable<MetricColumn['cell']> {
  return (median, wide) => {
    const v = split.layers.map((l) => median(`${l.stem}_p50`));
    const total = v.reduce((a, x) => a + x, 0);
    if (!v.every(Number.isFinite) || !(total > 0)) return '-';
    const pct = v.map((x) => Math.round((x / total) * 100));
    return wide ? split.layers.map((l, i) => `${l.short} ${pct[i]}%`).join(' ') : pct.join('/');
  };
}

/** The where column of a split: on its first layer's p50 entry, its note naming the split's own layers. */
function whereColumn(split: WhereSplit): MetricColumn {
  const names = split.layers.map((l) => `the ${l.label}`).join(' / ');
  return { head: 'where', long: 'where (p50)', compact: 'estimate', whenMeasured: true, cell: whereCell(split), note: `% of the p50 band's ${split.whole} in ${names} (--where)` };
}

/**
 * A split's layer times: each layer in the p50 band (gated; the first carries the where column),
 * the p99 band (exported, not gated) and the slowest 1 % (gated), named `${stem}_p50` and so on.
 */
function layerTimes<S extends string>(split: WhereSplit<S>) {
  const bands = [['p50', 'p50', true], ['p99', 'p99', false], ['slowest1', 'slowest_1pct', true]] as const;
  return bands.flatMap(([suffix, band, gated]) => split.layers.map((l, i) => {
    const m = layerTime(`${l.stem}_${suffix}` as `${S}_${typeof suffix}`, band, split, i, gated);
    return band === 'p50' && i === 0 ? { ...m, column: whereColumn(split) } : m;
  }));
}

const WHERE_METRICS = [
  ...layerTimes(BLOCK_SPLIT),
  perOpCount('syscalls_per_op', 'host system calls of the traced processes', (p) => p.syscalls, true),
  perOpCount('io_calls_per_op', 'host I/O calls on the data file (calls and io_uring requests)', (p) => p.io_calls, true),
  { ...perOpCount('io_roles_syscalls_per_op', 'host system calls of the roles that made the I/O calls on the data file', (p) => p.syscalls, true), value: ioRoleSyscalls },
  perOpCount('block_requests_per_op', "block requests on the data file's sectors", (p) => p.block_requests, true),
  perOpCount('wakeups_per_op', 'wake-ups of the traced threads', (p) => p.wakeups, true),
  perOpCount('csw_voluntary_per_op', 'voluntary context switches (the thread blocked)', (p) => p.csw_voluntary, true),
  perOpCount('csw_preempted_per_op', 'preempted context switches (other work took the CPU)', (p) => p.csw_preempted, false),
  perOpCount('irqs_per_op', "hardware interrupts on the probe's CPUs", (p) => p.irq_on_probe_cpus, false),
  // Request/response (lib/trace/net-attribution.ts): the round trip in the host path, the server, the boundary.
  ...layerTimes(RR_SPLIT),
  perTxCount('packets_per_tx', "packets on the boundary's host-side device (to and from the server)", (p) => p.packets, true),
  // Mostly 0 (a reply carries the acknowledgement); a delayed one follows the machine's timing.
  { ...perTxCount('empty_segments_per_tx', 'TCP segments without payload among those packets (acknowledgements)', (p) => p.empty_segments, false), zeroIsValue: true },
  perTxCount('server_calls_per_tx', "the echo server's send/receive-family calls", (p) => p.server_calls, true),
  // Only where the split was made: a client whose calls the host does not see (a guest's) has none counted, not 0.
  { ...perTxCount('client_calls_per_tx', "the client's send/receive-family calls", (p) => p.client_calls, true), value: (r: TargetResult) => netWhere(r)?.per_op.client_calls },
] as const;
// --- end of where the time goes

export const METRIC_DEFS = [
  latency('p50', 'median latency', '50', { gated: LATENCY, column: { head: 'p50 latency', compact: 'interval' } }),
  latency('p90', '90th percentile latency', '90'),
  latency('p99', '99th percentile latency', '99', { gated: LATENCY, column: { head: 'p99', compact: 'estimate' } }),
  latency('p99.9', '99.9th percentile latency', '99.9', { column: { head: 'p99.9' } }),
  latency('mean', 'mean latency', '', { value: (r) => r.latency_ns?.mean }),
  {
    name: 'iops', title: 'I/O operations per second', unit: 'IOPS', better: 'higher', kinds: rateOfKinds('iops'), gated: rateOfKinds('iops'), thresholdClass: 'time',
    value: field('iops'), format: (v) => count(v, 'IOPS'), scale: countScale, column: { head: 'IOPS', compact: 'interval' },
  },
  {
    name: 'tps', title: 'transactions per second', unit: 'tx/s', better: 'higher', kinds: rateOfKinds('tps'), gated: rateOfKinds('tps'), thresholdClass: 'time',
    value: field('tps'), format: (v) => count(v, 'tx/s'), scale: countScale, column: { head: 'tx/s', compact: 'interval' },
  },
  {
    name: 'gbps', title: 'stream throughput', unit: 'Gbit/s', better: 'higher', kinds: rateOfKinds('gbps'), gated: rateOfKinds('gbps'), thresholdClass: 'time',
    value: (r) => { const b = field('bits_per_s')(r); return b === undefined ? undefined : b / 1e9; }, format: (v) => `${v.toFixed(2)} Gbit/s`, scale: plainScale, column: { head: 'Gbit/s', compact: 'interval' },
  },
  {
    name: 'pps', title: 'datagrams received per second (UDP stream, counted by the receiver)', unit: 'pkt/s', better: 'higher', kinds: rateOfKinds('pps'), gated: rateOfKinds('pps'), thresholdClass: 'time',
    value: (r) => udp(r)?.pps, format: (v) => count(v, 'pkt/s'), scale: countScale, column: { head: 'pkt/s', compact: 'interval' },
  },
  {
    // Mostly 0 on a healthy path, so no relative threshold judges it unless --metric asks.
    name: 'loss', title: 'UDP stream loss: datagrams sent in the window that never arrived, % of those sent', unit: '%', better: 'lower', kinds: rateOfKinds('pps'), gated: [], thresholdClass: 'count',
    value: (r) => { const u = udp(r); return u ? u.loss * 100 : undefined; }, format: (v) => `${v.toFixed(2)} %`, scale: fixedScale(' %', 2), column: { head: 'loss', compact: 'estimate' }, csv: 'loss_pct',
  },
  {
    name: 'jitter', title: "UDP stream interarrival jitter at the receiver (RFC 3550; the streams' mean)", unit: 'ns', better: 'lower', kinds: rateOfKinds('pps'), gated: [], thresholdClass: 'time',
    value: (r) => udp(r)?.jitter_ns, format: ns, scale: nsScale, column: { head: 'jitter', compact: 'estimate' }, csv: 'jitter_ns',
  },
  {
    name: 'host_cpu_per_op', title: 'host CPU per operation, every role of the boundary (per byte for streams)', unit: 'ns', better: 'lower', ...cost, gated: ALL,
    value: hostPerOp, format: fineNs, scale: fineNsScale,
    column: { head: 'host/{op}', long: 'host CPU/{word}', compact: 'estimate', note: "the boundary's host CPU per operation (all its roles, the measured window)" },
  },
  {
    name: 'ops_per_host_cpu_s', title: 'operations per host CPU-second (bytes for streams)', unit: '/CPU-s', better: 'higher', ...cost, gated: [],
    value: (r) => { const v = hostPerOp(r); return v ? 1e9 / v : undefined; }, format: (v) => count(v, '/CPU-s'),
  },
  {
    name: 'overhead', title: "the boundary's host CPU over the probe's own CPU (the host target: ~1.0, a check of the accounting)", unit: 'x', better: 'lower', ...cost, gated: [],
    value: (r) => { const p = probeCpuNs(r); return r.host_cpu && p ? r.host_cpu.total_ns / p : undefined; }, format: (v) => `${v.toFixed(2)}x`, scale: fixedScale('x', 2),
    column: { head: 'xprobe', long: 'host/probe CPU', compact: 'estimate', note: "over the probe's own CPU" },
  },
  {
    name: 'startup_ms', title: "start-up: launch call to the probe's first line or frame (a VM's boot; a container's create + start)", unit: 'ms', better: 'lower', ...cost, gated: ALL,
    perSession: (r) => r.target.kind !== 'vm', value: (r) => (r.startup && r.startup.ns > 0 ? r.startup.ns / 1e6 : undefined), format: (v) => `${v.toFixed(0)} ms`,
  },
  {
    name: 'host_mem_mib', title: "the boundary's host memory at the workload's end (PSS of its processes; a VMM's RSS)", unit: 'MiB', better: 'lower', ...cost, gated: ALL,
    value: (r) => (r.host_memory ? r.host_memory.pss_bytes / 2 ** 20 : undefined), format: (v) => `${v.toFixed(1)} MiB`,
  },
  ...WHERE_METRICS,
  {
    // Of a whole sweep's curve, not of one result (knee-cells.ts builds its cells per repetition).
    name: 'knee_throughput', title: "a sweep's knee: the highest throughput whose p99 stays within 2x of the curve's lowest", unit: '', better: 'higher', kinds: [], gated: [], thresholdClass: 'time',
    value: () => undefined, format: (v) => Math.round(v).toLocaleString('en-US'),
  },
] as const satisfies readonly MetricDef[];

export type Metric = (typeof METRIC_DEFS)[number]['name'];
export const METRICS = METRIC_DEFS.map((m) => m.name) as Metric[];

/** Every entry, read as the interface (a test may add one: every list below is read per call). */
export function metricDefs(): readonly MetricDef[] {
  return METRIC_DEFS as readonly MetricDef[];
}

const names = (f: (d: MetricDef) => boolean) => metricDefs().filter(f).map((d) => d.name as Metric);

/** The metrics a single result has (all but a sweep's knee): what the trend can plot and the CSV holds. */
export const resultMetrics = () => names((d) => d.kinds.length > 0);
export const RESULT_METRICS = resultMetrics();

export function metricDef(m: Metric | string): MetricDef {
  const d = metricDefs().find((x) => x.name === m);
  if (!d) throw new Error(`no metric ${m}`);
  return d;
}

export function higherIsWorse(m: Metric): boolean {
  return metricDef(m).better === 'lower';
}

/** Whether results of a kind have the metric. */
export function appliesTo(m: Metric, kind: string): boolean {
  return metricDef(m).kinds.includes(kind as ResultKind);
}

/** The metrics results of a kind have, in the registry's order. */
export const metricsOf = (kind: ResultKind) => names((d) => d.kinds.includes(kind));

/** The metrics the gate takes for a result kind by default. */
export function gatedMetrics(kind: string): Metric[] {
  return names((d) => d.gated.includes(kind as ResultKind));
}

/** The comparison table's metric columns for a kind: the default table's, or every one (--wide, the HTML). */
export function columnsOf(kind: ResultKind | undefined, o: { wide?: boolean; html?: boolean } = {}): Metric[] {
  if (!kind) return [];
  return names((d) => !!d.column && d.kinds.includes(kind) && (o.wide || (o.html ? d.column.html !== false : !!d.column.compact)));
}

/** A kind's rate metric (IOPS, transactions or Gbit/s): the one its ratios and bars are of. */
export function rateMetric(kind: ResultKind): Metric {
  return metricDef(KINDS[kind].rate).name as Metric;
}

export function formatMetric(m: Metric, v: number): string {
  return Number.isFinite(v) ? metricDef(m).format(v) : '-';
}

/** The gate's default metrics in words, for help texts: "every kind: ...; block: ...". */
export function gatedText(): string {
  const every = names((d) => d.gated.length === RESULT_KINDS.length);
  const byKind = RESULT_KINDS.map((k) => `${k} ${gatedMetrics(k).filter((m) => !every.includes(m)).join(', ')}`);
  return `${byKind.join('; ')}; every kind ${every.join(', ')}`;
}

/** A metric's column heading for a kind ("{op}": its operation, op/tx/B; "{word}": operation/transaction/byte). */
export function columnHead(m: Metric, kind: ResultKind, long = false): string {
  const c = metricDef(m).column;
  const op = KINDS[kind].op;
  return (c ? (long ? c.long ?? c.head : c.head) : m).replace('{op}', op.unit).replace('{word}', op.word);
}
