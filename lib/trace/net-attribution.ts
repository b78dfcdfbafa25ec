// Where the time of a request/response run went, from a host trace of the boundary's host-side
// device and of the send/receive calls (net-tracer.ts), by durations and order only: per
// transaction the host path (the request's arrival on the device to the reply leaving it, less
// the echo server's own time), the server (its receive's return to its send's entry) and the
// boundary (the client's round trip, its send's entry to its receive's return, less the host path).
import type { NetResult } from '../probe/types';
import { bandMean, bandOf, layerSummary, type LayerSummary, tailOf } from './bands';
import type { NetCall, NetPacket, NetTraceWindow } from './net-tracer';
import { syscallName } from './syscalls';

export type NetLayer = 'host path' | 'server' | 'boundary';

/** The mean of each layer over a band of transactions ranked by their round trip. */
export interface NetSplit {
  ops: number;
  latency_ns: number;
  host_path_ns: number;
  server_ns: number;
  boundary_ns: number;
  shares: { host_path: number; server: number; boundary: number };
}

export interface NetPerOp {
  /** Packets on the device per transaction (each packet once), to the server and from it. */
  packets: number;
  packets_to_server: number;
  packets_from_server: number;
  /** Of them, TCP segments with no payload (acknowledgements, handshake, close). */
  empty_segments: number;
  /** The echo server's and the client's send/receive-family calls per transaction. */
  server_calls: number;
  client_calls: number;
}

export interface NetAttribution {
  method: string;
  device: string;
  /**
   * `opened_by`: the start mark, or the probe's own start of measuring (its first request's arrival
   * plus its warm-up) where that came first: the probe writes its start mark when its main thread
   * wakes after the warm-up, late by that wake-up on a busy machine (`start_mark_late_ns`), while
   * its client threads count from the warm-up's end.
   */
  window: { ns: number; source: 'probe marks' | 'relayed marks'; opened_by: 'start mark' | 'first request + warm-up'; start_mark_late_ns: number };
  /** Transactions the device showed in the window (a request in, its reply out) against the probe's count. */
  transactions_seen: number;
  probe_transactions: number;
  matched: number;
  matched_share: number;
  unmatched: { count: number; note: string };
  layers: { latency_ns: LayerSummary; host_path_ns: LayerSummary; server_ns: LayerSummary; boundary_ns: LayerSummary };
  split: { p50: NetSplit; p99: NetSplit; slowest_1pct: NetSplit };
  tail: NetLayer;
  tail_sentence: string;
  per_op: NetPerOp;
  /** The whole distribution of packets per transaction: {packets: transactions}. */
  packets_histogram: Record<string, number>;
  counts: NetTraceWindow['counters'];
}

/** What the device alone shows when the client's calls are not visible (a guest's): no split, but the host side's own layers. */
export interface NetDeviceCounts {
  per_op: NetPerOp;
  transactions_seen: number;
  packets_histogram: Record<string, number>;
  /** The host path (less the server) and the server, per transaction where the server's calls were found. */
  host_path_ns: LayerSummary;
  server_ns: LayerSummary;
}

export type NetAttributionField = NetAttribution | { unavailable: string; counts?: NetDeviceCounts };

/** One transaction on the device: the first request segment in, the replies out, its packets. */
export interface Transaction {
  flow: string;
  tIn: number;
  /** The first and the last reply segment leaving. */
  tOutFirst: number;
  tOut: number;
  /** Threads current at the request's arrival and the reply's leaving. */
  rxTid: number;
  txTid: number;
  toServer: number;
  fromServer: number;
  empty: number;
}

const RECV = new Set(['read', 'readv', 'recvfrom', 'recvmsg', 'recvmmsg']);
const SEND = new Set(['write', 'writev', 'sendto', 'sendmsg', 'sendmmsg']);

function flowKey(p: NetPacket): string {
  return `${p.proto} ${Math.min(p.sport, p.dport)}-${Math.max(p.sport, p.dport)}`;
}

/**
 * The device's transactions, in order per flow. A flow's server is the port its first packet went
 * to (a TCP SYN's, or a UDP client's first datagram); a transaction opens with a request payload
 * after a reply (or the flow's first request) and holds every packet until the next one opens.
 * On the loopback device each packet shows twice (queued, then received): the host side of the
 * boundary is the request's arrival and the reply's leaving, so only those are kept.
 */
export function transactions(packets: NetPacket[], ours: (flowPackets: NetPacket[]) => boolean = () => true): Transaction[] {
  const flows = new Map<string, NetPacket[]>();
  for (const p of [...packets].sort((a, b) => a.t - b.t)) {
    const k = flowKey(p);
    if (!flows.has(k)) flows.set(k, []);
    flows.get(k)!.push(p);
  }
  const out: Transaction[] = [];
  for (const [flow, ps] of flows) {
    if (!ours(ps)) continue;
    const first = ps.find((p) => p.proto !== 6 || (p.flags & 2) !== 0) ?? ps[0]!;
    const server = first.dport;
    let cur: Transaction | undefined;
    let replied = true;
    for (const p of ps) {
      const toServer = p.dport === server;
      // The host side of the boundary: requests arriving, replies leaving.
      if (toServer ? p.dir !== 'rx' : p.dir !== 'tx') continue;
      if (toServer && p.payload > 0 && replied) {
        if (cur && cur.tOut) out.push(cur);
        cur = { flow, tIn: p.t, tOutFirst: 0, tOut: 0, rxTid: p.tid, txTid: 0, toServer: 0, fromServer: 0, empty: 0 };
        replied = false;
      }
      if (!cur) continue;
      if (toServer) cur.toServer++;
      else cur.fromServer++;
      if (p.payload === 0) cur.empty++;
      if (!toServer && p.payload > 0) {
        if (!cur.tOutFirst) {
          cur.tOutFirst = p.t;
          cur.txTid = p.tid;
        }
        cur.tOut = p.t;
        replied = true;
      }
    }
    if (cur && cur.tOut) out.push(cur);
  }
  return out.sort((a, b) => a.tIn - b.tIn);
}

/** How many of a thread's calls (by entry) entered at or before t: a binary search, the runs hold tens of thousands. */
function enteredBy(cs: NetCall[], t: number): number {
  let lo = 0;
  let hi = cs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cs[mid]!.t0 <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A thread's send and receive calls, in time order. */
class Calls {
  private readonly by = new Map<number, NetCall[]>();
  constructor(calls: NetCall[]) {
    for (const c of [...calls].sort((a, b) => a.t0 - b.t0)) {
      if (!this.by.has(c.tid)) this.by.set(c.tid, []);
      this.by.get(c.tid)!.push(c);
    }
  }
  has(tid: number): boolean {
    return this.by.has(tid);
  }
  /** Whether the thread's process was named to the tracer (the probe, the echo server), by its latest call. */
  named(tid: number): boolean {
    const cs = this.by.get(tid);
    return cs !== undefined && cs[cs.length - 1]!.named;
  }
  /** The last call of `tid` of the family entered at or before t. */
  lastEnteredBy(tid: number, family: Set<string>, t: number): NetCall | undefined {
    const cs = this.by.get(tid) ?? [];
    for (let i = enteredBy(cs, t) - 1; i >= 0; i--) if (family.has(syscallName(cs[i]!.nr))) return cs[i];
    return undefined;
  }
  /** The last receive of `tid` that returned data at or before t. */
  lastReceivedBy(tid: number, t: number): NetCall | undefined {
    const cs = this.by.get(tid) ?? [];
    for (let i = enteredBy(cs, t) - 1; i >= 0; i--) if (cs[i]!.t1 <= t && cs[i]!.ret > 0 && RECV.has(syscallName(cs[i]!.nr))) return cs[i];
    return undefined;
  }
  /** The first receive of `tid` that returned data at or after t (a thread's calls follow one another: a call returning after t entered after the one entered last by t). */
  firstReceivedAfter(tid: number, t: number): NetCall | undefined {
    const cs = this.by.get(tid) ?? [];
    for (let i = Math.max(0, enteredBy(cs, t) - 1); i < cs.length; i++) if (cs[i]!.t1 >= t && cs[i]!.ret > 0 && RECV.has(syscallName(cs[i]!.nr))) return cs[i];
    return undefined;
  }
  countIn(tids: Set<number>, from: number, to: number): number {
    let n = 0;
    for (const tid of tids) for (const c of this.by.get(tid) ?? []) if (c.t0 >= from && c.t0 < to) n++;
    return n;
  }
}

/** Per transaction: the client's round trip, the device's host path, the server's own time (NaN: not found). */
export interface TxTimes { rtt: number; hostPath: number; server: number }

export function timesOf(txs: Transaction[], calls: NetCall[]): TxTimes[] {
  const c = new Calls(calls);
  return txs.map((x) => {
    const hostPath = x.tOut - x.tIn;
    const send = c.lastEnteredBy(x.txTid, SEND, x.tOutFirst);
    const recv = send && c.lastReceivedBy(x.txTid, send.t0);
    const server = send && recv && recv.t1 >= x.tIn ? send.t0 - recv.t1 : NaN;
    // The client: the thread current at the request's arrival (its send ran down to the device),
    // if it is the probe's: a VMM's thread writing the guest's frame to the tap is not.
    const client = x.rxTid !== x.txTid && c.named(x.rxTid) ? x.rxTid : undefined;
    const cSend = client === undefined ? undefined : c.lastEnteredBy(client, SEND, x.tIn);
    const cRecv = client === undefined ? undefined : c.firstReceivedAfter(client, x.tOut);
    const rtt = cSend && cRecv ? cRecv.t1 - cSend.t0 : NaN;
    return { rtt, hostPath, server };
  });
}

function band(t: TxTimes[], from: number, to: number): NetSplit {
  const pick = bandOf(t, from, to);
  const mean = (f: (x: TxTimes) => number) => bandMean(pick, f);
  const latency = mean((x) => x.rtt);
  const server = mean((x) => x.server);
  const hostPath = mean((x) => x.hostPath - x.server);
  const boundary = mean((x) => x.rtt - x.hostPath);
  const share = (v: number) => (latency > 0 ? v / latency : 0);
  return { ops: pick.length, latency_ns: latency, host_path_ns: hostPath, server_ns: server, boundary_ns: boundary,
    shares: { host_path: share(hostPath), server: share(server), boundary: share(boundary) } };
}

function splitTail(p50: NetSplit, slow: NetSplit): { tail: NetLayer; sentence: string } {
  return tailOf<NetLayer>([['host path', slow.host_path_ns - p50.host_path_ns], ['server', slow.server_ns - p50.server_ns], ['boundary', slow.boundary_ns - p50.boundary_ns]], p50.latency_ns, slow.latency_ns);
}

export function packetsPerOp(txs: Transaction[], calls: NetCall[]): { per_op: NetPerOp; histogram: Record<string, number> } {
  const n = txs.length || 1;
  const sum = (f: (x: Transaction) => number) => txs.reduce((a, x) => a + f(x), 0) / n;
  const histogram: Record<string, number> = {};
  for (const x of txs) histogram[x.toServer + x.fromServer] = (histogram[x.toServer + x.fromServer] ?? 0) + 1;
  const c = new Calls(calls);
  const servers = new Set(txs.map((x) => x.txTid));
  const clients = new Set(txs.map((x) => x.rxTid).filter((t) => !servers.has(t) && c.named(t)));
  const from = txs[0]?.tIn ?? 0;
  const to = txs.length ? txs[txs.length - 1]!.tOut : 0;
  return {
    per_op: { packets: sum((x) => x.toServer + x.fromServer), packets_to_server: sum((x) => x.toServer), packets_from_server: sum((x) => x.fromServer),
      empty_segments: sum((x) => x.empty), server_calls: c.countIn(servers, from, to) / n, client_calls: c.countIn(clients, from, to) / n },
    histogram,
  };
}

export interface NetAttributeOptions {
  /** The window's edges (CLOCK_MONOTONIC ns) and how they were known. */
  window: { open: number; close: number; source: 'probe marks' | 'relayed marks' };
  device: string;
  loopback: boolean;
}

/** The split of an RR result over the window, or why there is none (with the counts where there are). */
export function attributeNet(w: NetTraceWindow, r: NetResult, o: NetAttributeOptions): NetAttributionField {
  // On a loopback device other processes' flows pass too: ours have a packet a traced process sent.
  const traced = new Set(w.calls.map((c) => c.tgid));
  const ours = o.loopback ? (ps: NetPacket[]) => ps.some((p) => p.dir === 'tx' && traced.has(p.tgid)) : undefined;
  const all = transactions(w.packets, ours);
  const warmup = Number(r.options?.warmup ?? 0);
  const measured = all.length && warmup > 0 ? all[0]!.tIn + warmup : Infinity;
  const open = Math.min(o.window.open, measured);
  const txs = all.filter((x) => x.tIn >= open && x.tIn < o.window.close);
  if (!txs.length) return { unavailable: `no request and reply of this run crossed ${o.device} in the window (${w.counters.rx} packets received there, ${w.counters.tx} sent)` };
  const { per_op, histogram } = packetsPerOp(txs, w.calls);
  const times = timesOf(txs, w.calls);
  const matched = times.filter((t) => !Number.isNaN(t.rtt) && !Number.isNaN(t.server));
  if (!matched.length) {
    // The same words in every repetition (one line for a cell, not one per repetition); what varies is in the counts.
    return { unavailable: `the client's and the echo server's calls around the transactions that crossed ${o.device} were not seen: the client runs where the host cannot see its calls, or was not followed; nothing is split, the counts are the device's`,
      counts: { per_op, transactions_seen: txs.length, packets_histogram: histogram, host_path_ns: layerSummary(times.map((t) => t.hostPath - t.server)), server_ns: layerSummary(times.map((t) => t.server)) } };
  }
  const ranked = [...matched].sort((a, b) => a.rtt - b.rtt);
  const split = { p50: band(ranked, 0.495, 0.505), p99: band(ranked, 0.985, 0.995), slowest_1pct: band(ranked, 0.99, 1) };
  const { tail, sentence } = splitTail(split.p50, split.slowest_1pct);
  const probeTx = r.transactions;
  return {
    method: `packets on ${o.device} (netif_receive_skb, net_dev_queue), send/receive calls of the client and the echo server (sys_enter/sys_exit); transactions in order per connection`,
    device: o.device,
    window: { ns: o.window.close - open, source: o.window.source, opened_by: open < o.window.open ? 'first request + warm-up' : 'start mark', start_mark_late_ns: o.window.open - open },
    transactions_seen: txs.length,
    probe_transactions: probeTx,
    matched: matched.length,
    matched_share: probeTx ? matched.length / probeTx : 0,
    unmatched: { count: txs.length - matched.length, note: 'a transaction whose client or server call was not found around it (a thread not traced, a call outside the window) is left out of the split' },
    layers: { latency_ns: layerSummary(matched.map((t) => t.rtt)), host_path_ns: layerSummary(matched.map((t) => t.hostPath - t.server)), server_ns: layerSummary(matched.map((t) => t.server)),
      boundary_ns: layerSummary(matched.map((t) => t.rtt - t.hostPath)) },
    split,
    tail,
    tail_sentence: sentence,
    per_op,
    packets_histogram: histogram,
    counts: w.counters,
  };
}
