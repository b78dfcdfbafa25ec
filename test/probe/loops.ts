// What a closed-loop network result must show by the loop's rule alone, whatever the machine's load.
import type { ExecutionContext } from 'ava';

/** The fields of a closed-loop rr result these checks read (the x86-64 NetResult and the arm64 probe's JSON). */
export interface ClosedLoopResult {
  transactions: number;
  warmup_transactions: number;
  elapsed_ns: number;
  bytes_sent: number;
  bytes_received: number;
  latency_ns?: { count: number; mean: number; max: number };
}

/**
 * The rule (native/core/net_client.cc): each connection starts its next round trip when the last
 * one's echo is in, until the window ends, so its round trips fill the window (the bookkeeping
 * between two is small against a round trip, and a round trip begun before the end may finish
 * after it); the bytes each way are every transaction's message, warm-up included; every round
 * trip is timed. A rate ("more than 100 in 300 ms") would measure the machine's load as well.
 */
export function closedLoop(t: ExecutionContext, r: ClosedLoopResult, size: number, conns = 1, what = 'rr'): void {
  const lat = r.latency_ns!;
  t.true(r.transactions > 0, `${what}: ${r.transactions} transactions`);
  t.is(lat.count, r.transactions, `${what}: every round trip timed`);
  t.is(r.bytes_sent, (r.transactions + r.warmup_transactions) * size, `${what}: bytes sent`);
  t.is(r.bytes_received, r.bytes_sent, `${what}: every byte echoed`);
  const busy = (lat.mean * r.transactions) / (conns * r.elapsed_ns);
  t.true(busy >= 0.5 && busy <= 1 + lat.max / r.elapsed_ns, `${what}: round trips fill ${(busy * 100).toFixed(1)} % of ${conns} connection(s)' window`);
}
