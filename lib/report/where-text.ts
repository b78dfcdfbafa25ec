// A block result's split by layer for people: where its p50, p99 and slowest 1 % went (device,
// host kernel, boundary), the sentence about its tail, and the mechanism counts per operation; and
// a comparison's, per workload and target, from the registry's layer and count metrics (block and
// request/response workloads, each in its own layers).
import type { Comparison, Row } from '../compare/compare';
import { type Metric, opWord, type WhereSplit, whereSplit } from '../compare/metrics';
import { median } from '../stats/resample';
import type { TargetResult } from '../targets/types';
import type { Attribution, AttributionField, Split } from '../trace/attribution';
import type { NetAttribution, NetAttributionField, NetDeviceCounts } from '../trace/net-attribution';
import type { RoleCounts } from '../trace/by-role';
import { formatNs } from '../units';

function band(label: string, s: Split): string {
  const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
  return `${label} ${formatNs(s.latency_ns)} = device ${formatNs(s.device_ns)} (${pct(s.shares.device)}) + host kernel ${formatNs(s.host_kernel_ns)} (${pct(s.shares.host_kernel)}) + boundary ${formatNs(s.boundary_ns)} (${pct(s.shares.boundary)})`;
}

const WIDTH = 120;

/**
 * One role's counts per operation as one line of at most 120 columns: its system calls (the top
 * three names, fewer where the line would pass 120), context switches, wake-ups and I/O calls on
 * the data file (io_uring requests among them, as io_calls_per_op counts them).
 */
export function roleLine(role: string, c: RoleCounts, lead: string): string {
  const names = Object.entries(c.top_syscalls).filter(([, v]) => v >= 0.005).sort((x, y) => y[1] - x[1]);
  const io = `${(c.io_calls + c.uring_reqs).toFixed(2)} I/O calls${c.uring_reqs ? ` (io_uring ${c.uring_reqs.toFixed(2)})` : ''}`;
  const rest = `${(c.csw_voluntary + c.csw_preempted).toFixed(2)} csw, ${c.wakeups.toFixed(2)} wakeups, ${io}`;
  for (let k = Math.min(3, names.length); ; k--) {
    const top = names.slice(0, k).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ');
    const line = `${lead}${role}: ${c.syscalls.toFixed(2)} syscalls${top ? ` (${top})` : ''}, ${rest}`;
    if (line.length <= WIDTH || k <= 0) return line.slice(0, WIDTH);
  }
}

/** The roles' counts per operation, a line each, the busiest (by system calls) first; roles that did nothing left out. */
export function roleLines(byRole: Attribution['by_role'], lead = '  by role     ', next = '              '): string[] {
  const roles = Object.entries(byRole).filter((e): e is [string, RoleCounts] => !!e[1] && (e[1].syscalls >= 0.005 || e[1].io_calls > 0 || e[1].wakeups >= 0.005));
  return roles.sort((x, y) => y[1].syscalls - x[1].syscalls).map(([r, c], i) => roleLine(r, c, i === 0 ? lead : next));
}

export function whereLines(a: AttributionField): string[] {
  // Nothing split, but the window's counts kept (the guest's own page cache served it): the roles still say who worked.
  if ('unavailable' in a) return [`  where       unavailable: ${a.unavailable}`, ...(a.counts ? roleLines(a.counts.by_role) : [])];
  const p = a.per_op;
  const top = Object.entries(p.top_syscalls).filter(([, v]) => v >= 0.005).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ');
  return [
    `  where       ${band('p50 band', a.split.p50)}`,
    `              ${band('p99 band', a.split.p99)}`,
    `              ${band('slowest 1 %', a.split.slowest_1pct)}`,
    `              ${a.tail_sentence}`,
    `              ${a.matched} of ${a.ops_logged} operations matched to a host call${a.page_cache_hits ? `, ${a.page_cache_hits} served by the host page cache` : ''}`,
    `  per op      ${p.syscalls.toFixed(2)} syscalls (${top || 'none'}), ${p.block_requests.toFixed(2)} block requests, ${p.wakeups.toFixed(2)} wake-ups`,
    `              ${p.csw_voluntary.toFixed(2)} voluntary + ${p.csw_preempted.toFixed(2)} preempted context switches, ${p.irq_on_probe_cpus.toFixed(2)} IRQs on the probe's CPUs`,
    ...roleLines(a.by_role),
  ];
}

/** A row's median over repetitions of any metric (NaN where it has none): what a composed cell reads. */
export function rowMedian(r: Row): (m: string) => number {
  return (m) => {
    const vs = r.values[m as Metric];
    return vs?.length ? median(vs) : NaN;
  };
}

/** A band's layer times, each its median over a row's repetitions, and each one's share of their sum. */
function bandLine(label: string, med: (m: string) => number, band: 'p50' | 'p99' | 'slowest1', split: WhereSplit): string {
  const v = split.layers.map((l) => med(`${l.stem}_${band}`));
  const total = v.reduce((a, x) => a + x, 0);
  const pct = (x: number) => `${((x / total) * 100).toFixed(0)} %`;
  return `${label} ${formatNs(total)} = ${split.layers.map((l, i) => `${l.label} ${formatNs(v[i]!)} (${pct(v[i]!)})`).join(' + ')}`;
}

/** The three bands' lines of a row. */
function bandLines(med: (m: string) => number, split: WhereSplit): string[] {
  return [bandLine('p50 band', med, 'p50', split), bandLine('p99 band', med, 'p99', split), bandLine('slowest 1 %', med, 'slowest1', split)].map((l) => `    ${l}`);
}

/** The top system calls per operation: each name's median over the repetitions that traced. */
function topSyscalls(as: Attribution[]): string {
  const names = new Set(as.flatMap((a) => Object.keys(a.per_op.top_syscalls)));
  const med = [...names].map((n) => [n, median(as.map((a) => a.per_op.top_syscalls[n] ?? 0))] as const).filter(([, v]) => v >= 0.005);
  return med.sort((x, y) => y[1] - x[1]).slice(0, 5).map(([n, v]) => `${n} ${v.toFixed(2)}`).join(', ') || 'none';
}

const attributionOf = (x: TargetResult) => (x as { attribution?: AttributionField | NetAttributionField }).attribution;

/** Why a row has no split: the reasons its results give, or that its target was not traced. */
function noSplit(rs: TargetResult[]): string {
  if (!rs.length) return 'no results to split (the cell failed: see the warnings)';
  const gone = rs.map(attributionOf).filter((a): a is { unavailable: string } => !!a && 'unavailable' in a);
  const why = [...new Set(gone.map((a) => a.unavailable))];
  return why.length ? `unavailable: ${why.join('; ')}` : 'not traced (run with --where; the split is built for block and request/response workloads)';
}

/** An RR row without a split still has the device's counts (a VM's, gVisor's): their medians over the repetitions. */
function deviceCounts(rs: TargetResult[]): string[] {
  const gone = rs.map(attributionOf).filter((a) => !!a && 'unavailable' in a);
  // A block result's counts are by role; an RR result's are the device's, per transaction.
  const cs = gone.map((a) => (a as { counts?: unknown }).counts).filter((c): c is NetDeviceCounts => typeof (c as NetDeviceCounts | undefined)?.per_op?.packets === 'number');
  if (!cs.length) return [];
  const med = (f: (c: (typeof cs)[number]) => number) => median(cs.map(f));
  return [`    per tx ${med((c) => c.per_op.packets).toFixed(2)} packets, server ${med((c) => c.per_op.server_calls).toFixed(2)} calls (the device's and the server's; ${cs.length} of ${gone.length} repetitions, about ${Math.round(med((c) => c.transactions_seen))} transactions each)`];
}

/** One target's lines: its name, the medians over repetitions of each layer in each band, then the counts per operation; or why it has no split. */
function rowLines(r: Row, rs: TargetResult[], split: WhereSplit): { lines: string[]; noSplit?: string } {
  const as = rs.map(attributionOf).filter((a): a is Attribution | NetAttribution => !!a && !('unavailable' in a));
  if (!as.length) {
    const why = noSplit(rs);
    return { lines: [`  ${r.target}: ${why}`, ...deviceCounts(rs)], noSplit: why };
  }
  const med = rowMedian(r);
  const n = (m: string) => med(m).toFixed(2);
  const matched = median(as.map((a) => a.matched_share));
  const head = `  ${r.target}: tail ${[...new Set(as.map((a) => a.tail))].join(' or ')} (${as.length} of ${rs.length} repetitions traced, ${(matched * 100).toFixed(1)} % of ${opWord(split)}s matched)`;
  if (!split.kinds.includes('block')) {
    return { lines: [head, ...bandLines(med, split),
      `    per tx ${n('packets_per_tx')} packets (${n('empty_segments_per_tx')} empty), server ${n('server_calls_per_tx')} calls, client ${n('client_calls_per_tx')} calls`] };
  }
  return { lines: [
    head, ...bandLines(med, split),
    `    per op ${n('syscalls_per_op')} syscalls (${topSyscalls(as as Attribution[])}), ${n('io_calls_per_op')} I/O calls, ${n('block_requests_per_op')} block requests`,
    `           ${n('wakeups_per_op')} wake-ups, ${n('csw_voluntary_per_op')} voluntary + ${n('csw_preempted_per_op')} preempted context switches, ${n('irqs_per_op')} IRQs on the probe's CPUs`,
  ] };
}

/** Whether any result of a comparison was traced (it carries an attribution, or the reason it has none). */
export function hasWhere(c: Comparison): boolean {
  return c.cells.some((x) => x.results.some((r) => (r as { attribution?: unknown }).attribution !== undefined));
}

/**
 * A comparison's split by layer per workload and target, medians over repetitions (compare --where,
 * report): empty when nothing was traced.
 */
export function whereSummary(c: Comparison): string[] {
  if (!hasWhere(c)) return [];
  const head = 'where the time goes: each layer the median over repetitions of its mean in the band; counts per operation';
  const blocks = c.summaries.flatMap((s) => {
    const split = whereSplit(s.kind);
    return split ? [{ workload: s.workload, rows: s.rows.map((r) => rowLines(r, c.cells.find((x) => x.target === r.target && x.workload === s.workload)?.results ?? [], split)) }] : [];
  });
  // One reason shared by every traced cell (no tracer in this build, no root), and nothing else to
  // say of any (no split, no device counts): said once.
  const rows = blocks.flatMap((b) => b.rows);
  const bare = rows.every((x) => x.noSplit !== undefined && x.lines.length === 1);
  const unavailable = [...new Set(rows.map((x) => x.noSplit).filter((x): x is string => !!x?.startsWith('unavailable: ')))];
  if (bare && unavailable.length === 1) return ['', head, `  every traced cell: ${unavailable[0]}`];
  return ['', head, ...blocks.flatMap((b) => [b.workload, ...b.rows.flatMap((x) => x.lines)])];
}
