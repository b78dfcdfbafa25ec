// A target result for people: the probe's own block, then the stack and what the host cache did.
import { KINDS } from '../compare/kinds';
import type { BlockResult, NetResult } from '../probe/types';
import type { TargetResult } from '../targets/types';
import type { AttributionField } from '../trace/attribution';
import type { NetAttributionField } from '../trace/net-attribution';
import { formatBytes, formatNs } from '../units';
import { formatBlockResult } from './block-text';
import { formatNetResult } from './net-text';
import { netWhereLines } from './net-where-text';
import { whereLines } from './where-text';

/** The probe's own block: a network kind's (its peer, rate and registry metrics) or a block result's, as the kinds table says. */
function body(r: TargetResult): string {
  return KINDS[r.kind].network ? formatNetResult(r as NetResult) : formatBlockResult(r as BlockResult);
}

export function formatTargetResult(r: TargetResult): string {
  const s = r.target;
  const lines = [
    `${s.target}${s.emulated ? '  [EMULATED: software CPU emulation, not comparable to hardware]' : ''}`,
    body(r),
    `  stack       ${s.runtime} (${s.runtime_version})${s.platform ? `, ${s.platform}` : ''}`,
    `  storage     ${s.storage}`,
    `  network     ${s.network}${r.placement ? `; placement ${r.placement}` : ''}`,
  ];
  const env = r.env as Partial<typeof r.env> | undefined;
  if (s.seccomp || env?.seccomp) lines.push(`  seccomp     ${s.seccomp ?? 'none set by isoprobe'}${env?.seccomp ? ` (the probe reads: ${env.seccomp}; capabilities ${env.cap_eff ?? '?'}; uid ${env.uid ?? '?'})` : ''}`);
  if (r.host_page_cache) {
    const h = r.host_page_cache;
    lines.push(`  host cache  ${h.mode.toUpperCase()}: ${formatBytes(h.resident_bytes_after)} of ${h.file} resident on the host after the run (dropped before it)`);
  }
  if (r.attribution) lines.push(...(r.kind === 'block' ? whereLines(r.attribution as AttributionField) : netWhereLines(r.attribution as NetAttributionField)));
  const queues = guestQueuesText(r);
  if (queues) lines.push(`  queues      ${queues}`);
  const hostCpus = hostPlacementText(r);
  if (hostCpus) lines.push(`  host CPUs   ${hostCpus}${s.pinned ? ' (pinned)' : ''}`);
  const boot = r.boot;
  if (boot) lines.push(`  boot        VMM start to probe running ${formatNs(boot.vmm_start_to_probe_ns)}, to first result ${formatNs(boot.vmm_start_to_first_result_ns)}${s.emulated ? ' (emulated)' : ''}`);
  lines.push(`  probe       sha256 ${s.probe_sha256}`);
  return lines.join('\n');
}

/** What the guest saw of its queues and what each carried in this step: "vda 2 queues (completion
 * interrupts 1830 / 1903); eth0 2 pairs (packets tx 1686 / 1333, rx 1687 / 1328)". */
export function guestQueuesText(r: Pick<TargetResult, 'guest_devices' | 'guest_queues'>): string | undefined {
  const d = r.guest_devices;
  if (!d) return undefined;
  const q = r.guest_queues;
  // A queue split is shown where there is more than one queue and the step used the device.
  const split = (xs: number[] | undefined) => (xs && xs.length > 1 && xs.some((n) => n > 0) ? xs.join(' / ') : undefined);
  const parts = [
    ...d.block.map((b) => {
      const irqs = split(q?.block?.[b.dev]);
      return `${b.dev} ${b.queues} queue${b.queues === 1 ? '' : 's'}${irqs ? ` (completion interrupts ${irqs})` : ''}`;
    }),
    ...d.net.map((n) => {
      const c = q?.net?.[n.dev];
      const tx = split(c?.tx_packets), rx = split(c?.rx_packets);
      const pairs = Math.min(n.rx_queues, n.tx_queues);
      return `${n.dev} ${pairs} pair${pairs === 1 ? '' : 's'}${tx || rx ? ` (packets tx ${tx ?? '-'}, rx ${rx ?? '-'})` : ''}`;
    }),
  ];
  return parts.length ? parts.join('; ') : undefined;
}

/** Where a VMM's threads ran in the window: each vCPU thread, then the other threads by role:
 * "CPU 0/TCG on 0; CPU 1/TCG on 0,1 (14 migrations); vmm-main on 1". */
export function hostPlacementText(r: Pick<TargetResult, 'host_placement'>): string | undefined {
  const p = r.host_placement;
  if (!p?.threads.length) return undefined;
  const moved = (m: number | undefined) => (m ? ` (${m} migration${m === 1 ? '' : 's'})` : '');
  const vcpus = p.threads.filter((t) => t.role === 'vcpu').map((t) => `${t.name} on ${t.cpus.join(',')}${moved(t.migrations)}`);
  const roles = new Map<string, { cpus: Set<number>; migrations?: number }>();
  for (const t of p.threads.filter((x) => x.role !== 'vcpu')) {
    const g = roles.get(t.role) ?? { cpus: new Set<number>() };
    t.cpus.forEach((c) => g.cpus.add(c));
    if (t.migrations !== undefined) g.migrations = (g.migrations ?? 0) + t.migrations;
    roles.set(t.role, g);
  }
  const others = [...roles].map(([role, g]) => `${role} on ${[...g.cpus].sort((a, b) => a - b).join(',')}${moved(g.migrations)}`);
  return [...vcpus, ...others].join('; ');
}
