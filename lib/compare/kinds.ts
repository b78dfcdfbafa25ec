// The kinds of result a workload gives (block, tcp_rr, udp_rr, tcp_stream, udp_stream) and the facts of each
// in one table: the probe mode and protocol that measure it, whether it has a latency distribution
// and a network peer, its rate metric, what one operation is. The comparison, the report and the
// CLI read these instead of branching on kind names; a new kind (udp_stream) is one entry here.
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
}

const net = (r: TargetResult) => r as NetResult;

export const KINDS: Record<ResultKind, KindFacts> = {
  block: { mode: 'block', latency: true, network: false, rate: 'iops', op: { unit: 'op', word: 'operation' }, ops: (r) => (r as BlockResult).ops, cpuIsWindow: true },
  tcp_rr: { mode: 'rr', proto: 'tcp', latency: true, network: true, rate: 'tps', op: { unit: 'tx', word: 'transaction' }, ops: (r) => net(r).transactions, cpuIsWindow: false },
  udp_rr: { mode: 'rr', proto: 'udp', latency: true, network: true, rate: 'tps', op: { unit: 'tx', word: 'transaction' }, ops: (r) => net(r).transactions, cpuIsWindow: false },
  tcp_stream: {
    mode: 'stream', proto: 'tcp', latency: false, network: true, rate: 'gbps', op: { unit: 'B', word: 'byte' },
    ops: (r) => (net(r).options.reverse ? net(r).bytes_received : net(r).bytes_sent), cpuIsWindow: false,
  },
  udp_stream: {
    mode: 'stream', proto: 'udp', latency: false, network: true, rate: 'pps', op: { unit: 'pkt', word: 'datagram' },
    ops: (r) => net(r).udp_stream?.received, cpuIsWindow: false,
  },
};

export const RESULT_KINDS = Object.keys(KINDS) as ResultKind[];

/** The kinds a fact holds for (the metrics' `kinds` are read off the table this way). */
export function kindsWhere(f: (k: KindFacts) => boolean): ResultKind[] {
  return RESULT_KINDS.filter((k) => f(KINDS[k]));
}

/** The kind a workload gives: its mode and protocol (TCP unless it says UDP). */
export function kindOfWorkload(w: Workload): ResultKind {
  const proto = (w.options as { proto?: string }).proto ?? 'tcp';
  const k = RESULT_KINDS.find((x) => KINDS[x].mode === w.kind && (KINDS[x].proto ?? proto) === proto);
  if (!k) throw new Error(`no result kind measures ${w.kind} over ${proto}`);
  return k;
}

/** The operations of a result's measured window: I/Os, transactions, or bytes of a stream. */
export function windowOps(r: TargetResult): number | undefined {
  return KINDS[r.kind].ops(r);
}
