// The short human-readable block of a network result.
import { KINDS } from '../compare/kinds';
import type { NetResult } from '../probe/types';
import { formatBytes, formatCount, formatNs } from '../units';
import { latencyLine, placementText } from './block-text';

export function formatBits(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbit/s`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  return `${(bps / 1e3).toFixed(1)} kbit/s`;
}

export function formatNetResult(r: NetResult): string {
  const o = r.options;
  const stream = KINDS[r.kind].mode === 'stream';
  const head = stream
    ? `${r.kind}  ${formatBytes(o.size)} messages  ${o.streams} stream${o.streams === 1 ? '' : 's'}${o.reverse ? '  reverse (server sends)' : ''}`
    : `${r.kind}  ${formatBytes(o.size)} messages  ${o.conns} connection${o.conns === 1 ? '' : 's'}  ${o.rate ? `open loop ${formatCount(o.rate)}/s ${o.arrival}` : 'closed loop'}  backend ${o.backend}`;
  const lines = [head, `  peer        ${r.peer}`];
  const u = r.udp_stream;
  if (u) {
    lines.push(`  received    ${formatCount(u.pps)} datagrams/s (${formatBits(r.bits_per_s!)})  ${formatCount(u.received)} of ${formatCount(u.sent)} sent in ${formatNs(r.elapsed_ns)}${u.rate ? ` at ${formatCount(u.rate)}/s` : ', unpaced'}`);
    lines.push(`  loss        ${(u.loss * 100).toFixed(2)} % (${formatCount(u.lost)} lost, ${formatCount(u.out_of_order)} out of order)  jitter ${formatNs(u.jitter_ns)} (RFC 3550, at the receiver)`);
    lines.push(`  cpu         user ${formatNs(r.cpu.user_ns)}  sys ${formatNs(r.cpu.sys_ns)}  (${(r.cpu.utilization * 100).toFixed(0)} % of one core, sender)`);
  } else if (stream) {
    lines.push(`  throughput  ${formatBits(r.bits_per_s!)}  (${formatBytes(r.bytes_sent + r.bytes_received)} in ${formatNs(r.elapsed_ns)}, counted at the ${r.counted_at})`);
    if (r.streams && r.streams.length > 1) lines.push(`  per stream  ${r.streams.map((s) => formatBits(s.bits_per_s)).join('  ')}`);
    lines.push(`  cpu         user ${formatNs(r.cpu.user_ns)}  sys ${formatNs(r.cpu.sys_ns)}  (${(r.cpu.utilization * 100).toFixed(0)} % of one core, client)`);
  } else {
    lines.push(`  result      ${formatCount(r.tps!)} transactions/s   ${formatCount(r.transactions)} in ${formatNs(r.elapsed_ns)} (warm-up excluded)`);
    lines.push(`  round trip  ${latencyLine(r.latency_ns!)}`);
    lines.push(`              ${r.latency_definition}`);
    if (r.open_loop) {
      const ol = r.open_loop;
      lines.push(`  schedule    achieved ${formatCount(ol.achieved_rate)}/s of ${formatCount(ol.rate)}/s; ${formatCount(ol.sent_more_than_1ms_late)} sent >1 ms late; send lag p99 ${formatNs(ol.send_lag_ns.percentiles['99']!)} max ${formatNs(ol.send_lag_ns.max)}`);
    }
    lines.push(`  cpu         user ${formatNs(r.cpu.user_ns)}  sys ${formatNs(r.cpu.sys_ns)}  (${formatNs(r.cpu.per_transaction_ns!)}/transaction, client)`);
  }
  const pinned = r.cpu_placement?.server_pinned;
  const server = pinned?.length ? `; echo server pinned to ${pinned.join(',')}${o.server_cpus === 'auto' ? ' (auto)' : ''}` : typeof o.server_cpus === 'string' && o.server_cpus && o.server_cpus !== 'auto' ? `; echo server on ${o.server_cpus}` : '';
  if (r.cpu_placement) lines.push(`  placement   client ${placementText(r.cpu_placement)}${server}`);
  const err = r.errors;
  if (err.mismatches || err.lost || err.late_replies)
    lines.push(`  errors      ${err.mismatches} payload mismatches, ${err.lost} lost, ${err.late_replies} late replies`);
  lines.push(`  clock       ${r.clock.source} (${r.clock.cost_ns.toFixed(0)} ns/read, kernel clocksource ${r.clock.kernel_clocksource})`);
  lines.push(`  env         kernel ${r.env.kernel}; ${r.env.cpus} CPUs; probe ${r.probe.build} ${r.probe.version}`);
  return lines.join('\n');
}
