// The `where` lines of an RR result: its round trip split into host path, server and boundary at
// the p50 band, the p99 band and the slowest 1 %, and the packets per transaction on the device.
import type { NetAttributionField, NetSplit } from '../trace/net-attribution';

const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;
const pct = (x: number) => `${Math.round(x * 100)} %`;

function bandLine(name: string, s: NetSplit): string {
  return `${name} ${us(s.latency_ns)} = host path ${us(s.host_path_ns)} (${pct(s.shares.host_path)}) + server ${us(s.server_ns)} (${pct(s.shares.server)}) + boundary ${us(s.boundary_ns)} (${pct(s.shares.boundary)})`;
}

export function netWhereLines(a: NetAttributionField): string[] {
  if ('unavailable' in a) {
    const c = a.counts ? `; ${a.counts.per_op.packets.toFixed(2)} packets per transaction over ${a.counts.transactions_seen}` : '';
    return [`  where       unavailable: ${a.unavailable}${c}`];
  }
  const p = a.per_op;
  return [
    `  where       ${bandLine('p50 band', a.split.p50)}`,
    `              ${bandLine('p99 band', a.split.p99)}`,
    `              ${bandLine('slowest 1 %', a.split.slowest_1pct)}`,
    `              ${a.tail_sentence}`,
    `              ${a.matched} of ${a.probe_transactions} transactions matched on ${a.device}`,
    `  per op      ${p.packets.toFixed(2)} packets (${p.packets_to_server.toFixed(2)} in, ${p.packets_from_server.toFixed(2)} out, ${p.empty_segments.toFixed(2)} empty), server ${p.server_calls.toFixed(2)} calls, client ${p.client_calls.toFixed(2)} calls`,
  ];
}
