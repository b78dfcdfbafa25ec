// The host memory a boundary holds: resident and proportional set sizes of its processes by role,
// and for a VMM its guest RAM (the mapping of the configured size) told apart from its own.
import { cgroupProcs } from './cgroup';
import { argv0Of, commOf, mappingsOf, memoryOf, peakRssOf } from './proc';
import { processRole, type Role } from './roles';
import type { CostScope } from './scope';

export interface HostMemory {
  rss_bytes: number;
  /** Proportional: pages shared with other processes counted by share (a container's image libraries). */
  pss_bytes: number;
  by_role: Partial<Record<Role, { rss_bytes: number; pss_bytes: number }>>;
  /** A VM: the guest's RAM as configured, how much of it is resident, and the VMM's own RSS beside it. */
  guest_configured_bytes?: number;
  guest_resident_bytes?: number;
  vmm_own_bytes?: number;
  /** The largest RSS any of the long-lived processes reached over its life (VmHWM, summed). */
  peak_rss_bytes: number;
}

const MiB = 2 ** 20;

/** Resident bytes of the guest's RAM: the VMM's largest mapping at least as big as the configured memory. */
export function guestResident(pid: number, guestMiB: number): number | undefined {
  const want = guestMiB * MiB;
  const ram = mappingsOf(pid).filter((m) => m.sizeBytes >= want && m.sizeBytes <= want + 64 * MiB).sort((x, y) => y.rssBytes - x.rssBytes)[0];
  return ram?.rssBytes;
}

/**
 * The scope's memory now; undefined when none of its processes could be read (they had exited:
 * a host probe ends right after its last mark), never a reading of 0 that would pass for one.
 */
export function hostMemory(scope: CostScope): HostMemory | undefined {
  // The long-lived processes (a VMM's whole process is its 'vmm-main' here), then the rest of
  // the cgroup's by their own names.
  const longLived = new Set(scope.processes.map((p) => p.pid));
  const pids = new Map<number, Role>(scope.processes.map((p) => [p.pid, p.role ?? 'vmm-main']));
  if (scope.cgroup) for (const pid of cgroupProcs(scope.cgroup.path)) if (!pids.has(pid)) pids.set(pid, processRole(scope.names ?? [], commOf(pid), argv0Of(pid)) ?? scope.cgroup.role);
  const out: HostMemory = { rss_bytes: 0, pss_bytes: 0, by_role: {}, peak_rss_bytes: 0 };
  const rssOf = new Map<number, number>();
  for (const [pid, role] of pids) {
    const m = memoryOf(pid);
    if (!m) continue;
    rssOf.set(pid, m.rssBytes);
    const r = (out.by_role[role] ??= { rss_bytes: 0, pss_bytes: 0 });
    r.rss_bytes += m.rssBytes;
    r.pss_bytes += m.pssBytes;
    out.rss_bytes += m.rssBytes;
    out.pss_bytes += m.pssBytes;
    if (longLived.has(pid)) out.peak_rss_bytes += peakRssOf(pid) ?? 0;
  }
  if (!rssOf.size) return undefined;
  const vmm = scope.processes.find((p) => p.threads);
  if (vmm && scope.guestMiB) {
    const guest = guestResident(vmm.pid, scope.guestMiB);
    const rss = rssOf.get(vmm.pid);
    if (guest !== undefined && rss !== undefined) {
      out.guest_configured_bytes = scope.guestMiB * MiB;
      out.guest_resident_bytes = guest;
      out.vmm_own_bytes = rss - guest;
    }
  }
  return out;
}
