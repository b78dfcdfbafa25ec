// The mechanism counts by role: each traced thread's counts under the role the host-cost
// accounting gives it (lib/cost: the target's scope of processes and cgroup, a VMM's threads by
// their names), per operation of the probe.
import { statfsSync, statSync } from 'node:fs';

import { type Role, threadRole } from '../cost/roles';
import type { CostScope } from '../cost/scope';
import { type RawThread, THREAD_COUNTERS, type ThreadCounterName } from './native';
import { syscallName } from './syscalls';

/**
 * `other`: traced threads outside the target's scope: the runtime's exec client (`runc exec`,
 * `runsc exec`) and what it started before the container's cgroup took it.
 */
export type RoleKey = Role | 'other';

/** One role's counts per operation. */
export type RoleCounts = Record<ThreadCounterName, number> & {
  /** Threads of the role seen in the window. */
  threads: number;
  /** Its top five system calls by name, per operation. */
  top_syscalls: Record<string, number>;
};

/** The scope a trace classifies by: lib/cost's, with its cgroup's id (the directory's inode). */
export interface RoleScope {
  processes: CostScope['processes'];
  /** A cgroup v2's id (a v1 hierarchy's is not the id the kernel gives a task's v2 cgroup). */
  cgroup?: { id: number; role: Role };
  /** The role of the process whose mark opened the window: the probe (the cgroup's role, the container's). */
  probeRole: Role;
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** A cost scope as the tracer needs it (undefined: every traced thread is `other`). */
export function roleScopeOf(scope: CostScope | undefined): RoleScope | undefined {
  if (!scope) return undefined;
  let cgroup: RoleScope['cgroup'];
  if (scope.cgroup) {
    try {
      if (statfsSync(scope.cgroup.path).type === CGROUP2_SUPER_MAGIC) cgroup = { id: statSync(scope.cgroup.path).ino, role: scope.cgroup.role };
    } catch {
      cgroup = undefined;
    }
  }
  const probeRole = scope.cgroup?.role ?? (scope.processes.some((p) => p.role === 'container') ? 'container' : 'probe');
  return { processes: scope.processes, cgroup, probeRole };
}

/**
 * A traced thread's role: its process's in the scope (a VMM's threads by their names), the
 * probe's when its process wrote the window's mark, its cgroup's, else `other`.
 */
export function roleOfThread(t: RawThread, scope: RoleScope | undefined, marksPid = 0): RoleKey {
  const p = scope?.processes.find((x) => x.pid === t.tgid);
  if (p?.role) return p.role;
  if (p?.threads) return threadRole(p.threads, t.comm, t.tid === t.tgid);
  if (marksPid && t.tgid === marksPid) return scope?.probeRole ?? 'probe';
  if (scope?.cgroup && t.cgroup === scope.cgroup.id) return scope.cgroup.role;
  return 'other';
}

/** The window's counts by role, each divided by the probe's operations. */
export function countsByRole(threads: RawThread[], threadSyscalls: [number, number, number][], scope: RoleScope | undefined, ops: number, marksPid = 0): Partial<Record<RoleKey, RoleCounts>> {
  const roleOf = new Map<number, RoleKey>();
  const out: Partial<Record<RoleKey, RoleCounts>> = {};
  const names: Partial<Record<RoleKey, Record<string, number>>> = {};
  for (const t of threads) {
    const role = roleOfThread(t, scope, marksPid);
    roleOf.set(t.tid, role);
    const c = (out[role] ??= { ...(Object.fromEntries(THREAD_COUNTERS.map((n) => [n, 0])) as Record<ThreadCounterName, number>), threads: 0, top_syscalls: {} });
    c.threads++;
    THREAD_COUNTERS.forEach((n, k) => (c[n] += (t.n[k] ?? 0) / ops));
  }
  for (const [tid, nr, count] of threadSyscalls) {
    const role = roleOf.get(tid) ?? 'other';
    const byName = (names[role] ??= {});
    byName[syscallName(nr)] = (byName[syscallName(nr)] ?? 0) + count;
  }
  for (const [role, byName] of Object.entries(names) as [RoleKey, Record<string, number>][]) {
    const top = Object.entries(byName).sort((a, b) => b[1] - a[1]).slice(0, 5);
    if (out[role]) out[role]!.top_syscalls = Object.fromEntries(top.map(([n, v]) => [n, v / ops]));
  }
  return out;
}
