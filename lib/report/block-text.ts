// The short human-readable block of a block result: what ran, how fast, how it was timed.
import type { BlockJobJson, BlockResult, LatencyJson, PlacementJson } from '../probe/types';
import { formatBytes, formatCount, formatNs } from '../units';

export function latencyLine(l: LatencyJson): string {
  const p = l.percentiles;
  return [
    `min ${formatNs(l.min)}`,
    `mean ${formatNs(l.mean)} ± ${formatNs(l.stdev)}`,
    `p50 ${formatNs(p['50']!)}`,
    `p90 ${formatNs(p['90']!)}`,
    `p99 ${formatNs(p['99']!)}`,
    `p99.9 ${formatNs(p['99.9']!)}`,
    `max ${formatNs(l.max)}`,
  ].join('  ');
}

/** "bypassed" | "used" | "unknown" for the page cache of the kernel the probe ran on. */
export function pageCacheVerdict(r: BlockResult): string {
  const pc = r.page_cache;
  if (pc.resident_bytes_after < 0) return 'unknown (mincore failed)';
  const grew = pc.resident_bytes_after - Math.max(0, pc.resident_bytes_before);
  if (grew > 0) return `used: ${formatBytes(pc.resident_bytes_after)} of the region resident after the run`;
  return r.options.direct ? 'bypassed: O_DIRECT left nothing resident' : `${formatBytes(pc.resident_bytes_after)} resident after the run`;
}

/** "CPU 0" / "CPUs 0,1" / "pinned to 0,1" and "N changes seen": where the measuring threads ran. */
export function placementText(p: PlacementJson | undefined): string | undefined {
  if (!p) return undefined;
  const ran = p.ran_on.length ? `ran on CPU${p.ran_on.length > 1 ? 's' : ''} ${p.ran_on.join(',')}` : 'CPU not sampled';
  const pinned = p.pinned.length ? `pinned to ${p.pinned.join(',')}, ` : 'not pinned, ';
  return `${pinned}${ran}${p.changes_seen ? ` (${p.changes_seen} moves seen in ${p.samples} samples)` : ''}`;
}

/** Per job: IOPS, p50, p99 and CPU, then the spread of IOPS between jobs. */
function jobLines(jobs: BlockJobJson[]): string[] {
  const lines = jobs.map((j) => `    job ${j.job}    ${formatCount(j.iops)} IOPS  p50 ${formatNs(j.latency_ns.percentiles['50']!)}  p99 ${formatNs(j.latency_ns.percentiles['99']!)}` +
    `  ${formatBytes(j.size)} at ${formatBytes(j.offset)}  ${j.pinned >= 0 ? `CPU ${j.pinned}` : `ran on ${j.ran_on.join(',') || '?'}`}`);
  const iops = jobs.map((j) => j.iops);
  const lo = Math.min(...iops);
  const hi = Math.max(...iops);
  lines.unshift(`  jobs        ${jobs.length}: IOPS per job ${formatCount(lo)}-${formatCount(hi)} (spread ${lo > 0 ? ((hi / lo - 1) * 100).toFixed(0) : '-'} %)`);
  return lines;
}

export function formatBlockResult(r: BlockResult): string {
  const o = r.options;
  const flags = [o.direct && 'O_DIRECT', r.file.dsync_via, o.fsync && `fsync/${o.fsync}`, o.fdatasync && `fdatasync/${o.fdatasync}`,
    r.engine.detail].filter(Boolean).join(' ');
  const file = `${r.file.type === 'block' ? 'device' : 'file'} ${o.file} (${formatBytes(o.size)} region${r.file.created ? ', created' : ''})`;
  const lines = [
    `block  ${o.engine} ${o.pattern}${(r.jobs?.length ?? 1) > 1 ? `  ${r.jobs!.length} jobs${o.jobs === 0 ? ' (one per CPU)' : ''}${o.split ? ' (split)' : ''}` : ''}${o.pattern === 'randrw' ? ` ${o.rwmix_read}% read` : ''}  bs ${formatBytes(o.bs)}  qd ${o.qd}${flags ? `  ${flags}` : ''}`,
    `  target      ${file}`,
    `  result      ${formatCount(r.iops)} IOPS   ${formatBytes(r.bw_bytes_per_s)}/s   ${formatCount(r.ops)} ops in ${formatNs(r.elapsed_ns)} (warm-up ${formatNs(r.warmup.elapsed_ns)} excluded)`,
    `  latency     ${latencyLine(r.latency_ns)}`,
  ];
  if (r.jobs) lines.push(...jobLines(r.jobs));
  if (r.submit_ns && r.complete_ns) {
    lines.push(`  submit      ${latencyLine(r.submit_ns)}`);
    lines.push(`  complete    ${latencyLine(r.complete_ns)}`);
  }
  if (r.read && r.write) {
    lines.push(`  read        ${formatCount(r.read.iops)} IOPS  ${latencyLine(r.read.latency_ns)}`);
    lines.push(`  write       ${formatCount(r.write.iops)} IOPS  ${latencyLine(r.write.latency_ns)}`);
  }
  if (r.flush_ns) lines.push(`  flush       ${formatCount(r.flush_ns.count)} flushes  ${latencyLine(r.flush_ns)}`);
  lines.push(
    `  cpu         user ${formatNs(r.cpu.user_ns)}  sys ${formatNs(r.cpu.sys_ns)}  (${formatNs(r.cpu.per_op_ns)}/op, ${(r.cpu.utilization * 100).toFixed(0)} % of one core)`,
    `  clock       ${r.clock.source} (${r.clock.cost_ns.toFixed(0)} ns/read, steps of ${formatNs(r.clock.observed_step_ns)} seen, kernel clocksource ${r.clock.kernel_clocksource})${r.clock.fallback_reason ? `; TSC not used: ${r.clock.fallback_reason}` : ''}`,
    ...(r.cpu_placement ? [`  placement   ${placementText(r.cpu_placement)}`] : []),
    `  page cache  as the probe's own kernel sees it: ${r.page_cache.invalidated ? 'dropped before the run; ' : ''}${pageCacheVerdict(r)}`,
  );
  if (r.verify.enabled)
    lines.push(`  verify      ${formatCount(r.verify.blocks_checked)} blocks checked, ${r.verify.mismatches} mismatches` +
      (r.verify.blocks_skipped_racing_writes ? `, ${formatCount(r.verify.blocks_skipped_racing_writes)} reads raced a write and were not checked` : ''));
  const env = r.env;
  const where = [env.gvisor ? 'gVisor' : env.hypervisor === 'not detectable on this architecture' ? 'hypervisor not detectable (arm64)' : env.hypervisor ? `${env.hypervisor} guest` : 'bare metal', env.container ? `container markers: ${env.container}` : '']
    .filter(Boolean).join(', ');
  lines.push(`  env         ${where}; kernel ${env.kernel}; ${env.cpus} CPUs; probe ${r.probe.build} ${r.probe.version}`);
  return lines.join('\n');
}
