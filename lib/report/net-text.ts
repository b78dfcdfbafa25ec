// The short human-readable block of a network result: one block for every network kind, its lines
// read off the kinds table (rate, operation, latency) and the metric registry's entries for the kind.
import { KINDS, kindsWhere } from '../compare/kinds';
import { metricDef, metricDefs } from '../compare/metrics';
import type { NetResult } from '../probe/types';
import type { TargetResult } from '../targets/types';
import { formatBytes, formatCount, formatNs } from '../units';
import { latencyLine, placementText } from './block-text';

export function formatBits(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbit/s`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(1)} Mbit/s`;
  return `${(bps / 1e3).toFixed(1)} kbit/s`;
}

/** The head line: the kind, its messages and its mode's parallelism (streams, or connections and their loop). */
function headLine(r: NetResult): string {
  const o = r.options;
  return KINDS[r.kind].mode === 'stream'
    ? `${r.kind}  ${formatBytes(o.size)} messages  ${o.streams} stream${o.streams === 1 ? '' : 's'}${o.reverse ? '  reverse (server sends)' : ''}${o.rate ? `  paced at ${formatCount(o.rate)}/s` : ''}`
    : `${r.kind}  ${formatBytes(o.size)} messages  ${o.conns} connection${o.conns === 1 ? '' : 's'}  ${o.rate ? `open loop ${formatCount(o.rate)}/s ${o.arrival}` : 'closed loop'}  backend ${o.backend}`;
}

/**
 * The kind's registry metrics beyond its rate (a UDP stream's loss and jitter), each on its own
 * line: not the host-side costs (the target's text has the host), nor the trace's (its where lines
 * have them), and for a kind with latency not the distribution every latency kind shares (the
 * round-trip line shows it whole).
 */
function metricLines(r: NetResult): string[] {
  const k = KINDS[r.kind];
  const latencyKinds = kindsWhere((x) => x.latency);
  return metricDefs()
    .filter((d) => d.kinds.includes(r.kind) && d.name !== k.rate && d.thresholdClass !== 'cost' && !d.traced && !(k.latency && latencyKinds.every((x) => d.kinds.includes(x))))
    .flatMap((d) => {
      const v = d.value(r as unknown as TargetResult);
      return v === undefined ? [] : [`  ${(d.column?.head ?? d.name).padEnd(10)}  ${d.format(v)}`];
    });
}

/** A network result's block, the same for every kind: its rate and operations, then its registry metrics. */
export function formatNetResult(r: NetResult): string {
  const o = r.options;
  const k = KINDS[r.kind];
  const lines = [headLine(r), `  peer        ${r.peer}`];
  const rate = metricDef(k.rate).value(r as unknown as TargetResult);
  const ops = k.ops(r as unknown as TargetResult);
  const opsText = ops === undefined ? '' : k.op.unit === 'B' ? `${formatBytes(ops)}` : `${formatCount(ops)} ${k.op.word}s`;
  lines.push(`  result      ${rate === undefined ? '-' : metricDef(k.rate).format(rate)}   ${opsText} in ${formatNs(r.elapsed_ns)} (warm-up excluded${r.counted_at ? `, counted at the ${r.counted_at}` : ''})`);
  if (k.latency && r.latency_ns) {
    lines.push(`  round trip  ${latencyLine(r.latency_ns)}`);
    lines.push(`              ${r.latency_definition}`);
  }
  if (r.open_loop) {
    const ol = r.open_loop;
    lines.push(`  schedule    achieved ${formatCount(ol.achieved_rate)}/s of ${formatCount(ol.rate)}/s; ${formatCount(ol.sent_more_than_1ms_late)} sent >1 ms late; send lag p99 ${formatNs(ol.send_lag_ns.percentiles['99']!)} max ${formatNs(ol.send_lag_ns.max)}`);
  }
  if (r.streams && r.streams.length > 1) lines.push(`  per stream  ${r.streams.map((s) => formatBits(s.bits_per_s)).join('  ')}`);
  lines.push(...metricLines(r));
  const perOp = r.cpu.per_transaction_ns !== undefined ? `${formatNs(r.cpu.per_transaction_ns)}/transaction` : `${(r.cpu.utilization * 100).toFixed(0)} % of one core`;
  lines.push(`  cpu         user ${formatNs(r.cpu.user_ns)}  sys ${formatNs(r.cpu.sys_ns)}  (${perOp}, client)`);
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
