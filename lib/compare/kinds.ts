// The kinds of result a workload gives (block, tcp_rr, udp_rr, tcp_stream, udp_stream) and the facts of each
// in one table: the probe mode and protocol that measure it, whether it has a latency distribution
// and a network peer, its rate metric, what one operation is, its command-line word. The comparison,
// the report and the CLI's usage read these instead of branching on kind names; a new kind
// (udp_stream) is one entry here.
import { IsoprobeError } from '../errors';
import type { BlockResult, NetResult } from '../probe/types';
import type { TargetResult, Workload } from '../targets/types';

/** What a result measured: the one vocabulary of the comparison, the store, the gate and the report. */
export type ResultKind = BlockResult['kind'] | NetResult['kind'];

export interface KindFacts {
  /** The probe's mode that measures it (isoprobe run block, net rr, net stream) and the protocol. */
  mode: Workload['kind'];
  proto?: 'tcp' | 'udp';
  /** Its results carry a latency distribution (percentiles, histogram). */
  latency: boolean;
  /** An echo server answers it: a network workload, placed (client-inside, loopback, ...). */
  network: boolean;
  /** The name of its rate metric in metrics.ts (its unit is that metric's). */
  rate: string;
  /** What one operation is: host CPU "per op" means per I/O, per transaction, or per byte. */
  op: { unit: 'op' | 'tx' | 'B' | 'pkt'; word: 'operation' | 'transaction' | 'byte' | 'datagram' };
  /** The operations of a result's measured window. */
  ops(r: TargetResult): number | undefined;
  /** The probe's own CPU covers only the measured window (results from before cpu.window_ns). */
  cpuIsWindow: boolean;
  /**
   * How the command line names it: `isoprobe block`, `isoprobe net WORD`; `flags` are what the word
   * implies beyond its mode (udp-stream: stream --proto=udp); `help` its line in the usage. A kind
   * without a word of its own is its mode's word with a flag (udp_rr: net rr --proto udp).
   */
  cli?: { word: string; flags?: string[]; help: string };
}

const net = (r: TargetResult) => r as NetResult;

export const KINDS: Record<ResultKind, KindFacts> = {
  block: {
    mode: 'block', latency: true, network: false, rate: 'iops', op: { unit: 'op', word: 'operation' }, ops: (r) => (r as BlockResult).ops, cpuIsWindow: true,
    cli: { word: 'block', help: 'block I/O latency and IOPS' },
  },
  tcp_rr: {
    mode: 'rr', proto: 'tcp', latency: true, network: true, rate: 'tps', op: { unit: 'tx', word: 'transaction' }, ops: (r) => net(r).transactions, cpuIsWindow: false,
    cli: { word: 'rr', help: 'request/response round trips (--proto udp: udp_rr)' },
  },
  udp_rr: { mode: 'rr', proto: 'udp', latency: true, network: true, rate: 'tps', op: { unit: 'tx', word: 'transaction' }, ops: (r) => net(r).transactions, cpuIsWindow: false },
  tcp_stream: {
    mode: 'stream', proto: 'tcp', latency: false, network: true, rate: 'gbps', op: { unit: 'B', word: 'byte' },
    ops: (r) => (net(r).options.reverse ? net(r).bytes_received : net(r).bytes_sent), cpuIsWindow: false,
    cli: { word: 'stream', help: 'bulk throughput' },
  },
  udp_stream: {
    mode: 'stream', proto: 'udp', latency: false, network: true, rate: 'pps', op: { unit: 'pkt', word: 'datagram' },
    ops: (r) => net(r).udp_stream?.received, cpuIsWindow: false,
    cli: { word: 'udp-stream', flags: ['--proto=udp'], help: 'datagrams one way, at --rate or as fast as they go: received/s, loss, jitter' },
  },
};

export const RESULT_KINDS = Object.keys(KINDS) as ResultKind[];

// The kinds are read per call below (not copied at load), so a test may add one to KINDS.
const kindNames = () => Object.keys(KINDS) as ResultKind[];

/** The kinds a fact holds for (the metrics' `kinds` are read off the table this way). */
export function kindsWhere(f: (k: KindFacts) => boolean): ResultKind[] {
  return kindNames().filter((k) => f(KINDS[k]));
}

/** The kind a workload gives: its mode and protocol (TCP unless it says UDP). */
export function kindOfWorkload(w: Workload): ResultKind {
  const proto = (w.options as { proto?: string }).proto ?? 'tcp';
  const k = kindNames().find((x) => KINDS[x].mode === w.kind && (KINDS[x].proto ?? proto) === proto);
  if (!k) throw new Error(`no result kind measures ${w.kind} over ${proto}`);
  return k;
}

function isResultKind(s: string): s is ResultKind {
  return s in KINDS;
}

/**
 * The one reading of a kind as stored (a result in the database or an export file): a kind of this
 * table as it is, or an older spelling, the probe's mode (rr, stream) with the protocol of the
 * result's options, as suites and early results wrote it. Anything else is refused by name.
 */
export function storedKind(kind: string, options?: { proto?: string }): ResultKind {
  if (isResultKind(kind)) return kind;
  const proto = options?.proto ?? 'tcp';
  const k = kind === 'block' ? undefined : kindNames().find((x) => KINDS[x].mode === kind && (KINDS[x].proto ?? proto) === proto);
  if (!k) throw new IsoprobeError('EINVALOPT', `a stored result of kind "${kind}": expected one of ${kindNames().join(', ')} (or rr, stream as older results spell them)`, { option: 'kind' });
  return k;
}

/** The operations of a result's measured window: I/Os, transactions, or bytes of a stream. */
export function windowOps(r: TargetResult): number | undefined {
  return KINDS[r.kind].ops(r);
}

// --- The command line's words for the kinds: the CLI's usage and its word-to-mode step read these,
// so a kind with a word of its own (net udp-stream) needs no edit of the CLI.

/** A kind's command-line word, with the kind it stands for. */
export interface KindWord { word: string; kind: ResultKind; mode: Workload['kind']; flags: string[]; help: string; network: boolean }

/** Each word once (the first kind to claim it), in the table's order: block, rr, stream, udp-stream. */
export function kindWords(): KindWord[] {
  const seen = new Set<string>();
  const out: KindWord[] = [];
  for (const kind of kindNames()) {
    const f = KINDS[kind];
    if (!f.cli || seen.has(f.cli.word)) continue;
    seen.add(f.cli.word);
    out.push({ word: f.cli.word, kind, mode: f.mode, flags: f.cli.flags ?? [], help: f.cli.help, network: f.network });
  }
  return out;
}

/** The words of `isoprobe net WORD` that measure (serve is the CLI's own): rr, stream, udp-stream. */
export const netWords = () => kindWords().filter((w) => w.network).map((w) => w.word);

/** The workloads `run` and `sweep` take, in words: "block|net rr|net stream|net udp-stream". */
export const workloadWords = () => kindWords().map((w) => (w.network ? `net ${w.word}` : w.word)).join('|');

/**
 * argv with a kind's word at `at` replaced by its probe mode and the flags it implies
 * (`net udp-stream --rate 1000` -> `net stream --rate 1000 --proto=udp`); other argv unchanged.
 */
export function expandKindWord(argv: readonly string[], at: number): string[] {
  const w = kindWords().find((x) => x.network && x.word === argv[at]);
  if (!w || (w.word === w.mode && !w.flags.length)) return [...argv];
  return [...argv.slice(0, at), w.mode, ...argv.slice(at + 1), ...w.flags];
}

/** The usage lines of the network kinds: "  isoprobe net WORD (--connect ADDR:PORT | --loopback) [options]   help". */
export function netUsageLines(): string[] {
  return kindWords().filter((w) => w.network).map((w) => `  ${`isoprobe net ${w.word} (--connect ADDR:PORT | --loopback) [options]`.padEnd(70)} ${w.help}`);
}

/** A result as the store keeps it (its JSON), with its kind in today's vocabulary. */
export function storedResult(json: string): TargetResult {
  return asStoredKind(JSON.parse(json) as TargetResult);  // written by Store.addResult from a TargetResult
}

/** A result as stored or exported, its kind spelled today's way (an older result spelled it by the probe's mode). */
export function asStoredKind(r: TargetResult): TargetResult {
  const kind = storedKind(String(r.kind), r.options as { proto?: string } | undefined);
  return kind === r.kind ? r : { ...r, kind } as TargetResult;
}
