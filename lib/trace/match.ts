// Matching a probe's logged operations to the host I/O calls that carried them, by file offset
// (the k-th operation at an offset to the k-th call at it, in time order), and each call to the
// device requests inside it (overlapping its bytes, issued while it ran). Durations only: the
// probe's clock and the host's need not agree.
import type { OpLogJson } from '../probe/types';
import { RECORD, type TraceColumns } from './native';

/** One host I/O call (a pread64-like syscall, or an io_uring request from submit to completion). */
export interface HostCall {
  index: number;
  tid: number;
  nr: number;
  uring: boolean;
  off: number;
  len: number;
  t0: number;
  t1: number;
}

/** Per logged operation (in op_log order): the matched call's index into calls, or -1, and its layers. */
export interface Matched {
  call: number[];
  probe: number[];
  hostCall: number[];
  device: number[];
  /** Device requests inside the call. */
  requests: number[];
}
// An operation matched to a call whose device time is not known has device NaN (and so no split).

interface Request { off: number; len: number; t0: number; t1: number }

export function hostCalls(r: TraceColumns): HostCall[] {
  const out: HostCall[] = [];
  for (let i = 0; i < r.kind.length; i++) {
    if (r.kind[i] !== RECORD.call && r.kind[i] !== RECORD.uring) continue;
    out.push({ index: i, tid: r.tid[i]!, nr: r.nr[i]!, uring: r.kind[i] === RECORD.uring, off: r.off[i]!, len: r.len[i]!, t0: r.t0[i]!, t1: r.t1[i]! });
  }
  return out.sort((a, b) => a.t0 - b.t0);
}

function requests(r: TraceColumns): Request[] {
  const out: Request[] = [];
  for (let i = 0; i < r.kind.length; i++)
    if (r.kind[i] === RECORD.request) out.push({ off: r.off[i]!, len: r.len[i]!, t0: r.t0[i]!, t1: r.t1[i]! });
  return out.sort((a, b) => a.t0 - b.t0);
}

/** The logged operations in the order they started (a job's log is in completion order, jobs one after another). */
function startOrder(log: OpLogJson): number[] {
  return log.offset.map((_, i) => i).sort((a, b) => log.start_ns[a]! - log.start_ns[b]! || a - b);
}

/**
 * Each operation to a call at its offset: the earliest unused one. With several jobs each job is
 * one thread: once most of a job's matches agree on a thread, it is matched within that thread only.
 */
export function matchCalls(log: OpLogJson, calls: HostCall[]): number[] {
  const fifo = (restrict?: (op: number) => number | undefined) => {
    const queues = new Map<string, number[]>();
    for (const [c, call] of calls.entries()) {
      const key = restrict ? `${call.tid}:${call.off}` : `${call.off}`;
      if (!queues.has(key)) queues.set(key, []);
      queues.get(key)!.push(c);
    }
    const heads = new Map<string, number>();
    const out = new Array<number>(log.offset.length).fill(-1);
    for (const op of startOrder(log)) {
      const tid = restrict?.(op);
      const key = restrict ? `${tid}:${log.offset[op]}` : `${log.offset[op]}`;
      const q = queues.get(key);
      const h = heads.get(key) ?? 0;
      if (q && h < q.length) {
        out[op] = q[h]!;
        heads.set(key, h + 1);
      }
    }
    return out;
  };
  const first = fifo();
  if (!log.job) return first;
  const tidOf = jobThreads(log.job, first.map((c) => (c >= 0 ? calls[c]!.tid : undefined)));
  return tidOf ? fifo((op) => tidOf.get(log.job![op]!)) : first;
}

/** job -> the thread most of its matches ran on, when every job has its own; else undefined. */
function jobThreads(jobs: number[], tids: (number | undefined)[]): Map<number, number> | undefined {
  const votes = new Map<number, Map<number, number>>();
  jobs.forEach((j, i) => {
    const t = tids[i];
    if (t === undefined) return;
    if (!votes.has(j)) votes.set(j, new Map());
    votes.get(j)!.set(t, (votes.get(j)!.get(t) ?? 0) + 1);
  });
  const out = new Map<number, number>();
  for (const [j, v] of votes) out.set(j, [...v.entries()].sort((a, b) => b[1] - a[1])[0]![0]);
  return new Set(out.values()).size === out.size ? out : undefined;
}

/**
 * The time the device worked for a call: the union of its requests' issue-to-complete, within the
 * call; NaN when one of them has no completion seen (t1 0: the kernel skipped its tracepoint).
 */
function deviceTime(call: HostCall, rqs: Request[]): { ns: number; n: number } {
  let lo = 0;
  let hi = rqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (rqs[mid]!.t0 < call.t0) lo = mid + 1;
    else hi = mid;
  }
  const spans: [number, number][] = [];
  for (let i = lo; i < rqs.length && rqs[i]!.t0 <= call.t1; i++) {
    const q = rqs[i]!;
    if (q.off < call.off + call.len && call.off < q.off + q.len) spans.push([q.t0, q.t1 === 0 ? NaN : Math.min(q.t1, call.t1)]);
  }
  if (spans.some(([, b]) => Number.isNaN(b))) return { ns: NaN, n: spans.length };
  let ns = 0;
  let end = -Infinity;
  for (const [a, b] of spans) {
    if (b <= end) continue;
    ns += b - Math.max(a, end);
    end = b;
  }
  return { ns, n: spans.length };
}

export function matchOps(log: OpLogJson, r: TraceColumns, calls: HostCall[] = hostCalls(r)): Matched {
  const rqs = requests(r);
  const call = matchCalls(log, calls);
  const m: Matched = { call, probe: [], hostCall: [], device: [], requests: [] };
  for (const [op, c] of call.entries()) {
    m.probe.push(log.lat_ns[op]!);
    if (c < 0) {
      m.hostCall.push(NaN), m.device.push(NaN), m.requests.push(0);
      continue;
    }
    const hc = calls[c]!;
    const d = deviceTime(hc, rqs);
    m.hostCall.push(hc.t1 - hc.t0);
    m.device.push(d.ns);
    m.requests.push(d.n);
  }
  return m;
}
