// Host CPU over a measured window: two samples of a target's scope, taken when the probe marks the
// window's start and end, and what lies between them by role.
import { cgroupThreads, cgroupTimes, type CgroupTimes } from './cgroup';
import { machineTimes, type MachineTimes, threadTimes, tidsOf, TICK_NS } from './proc';
import { type Role, threadRole } from './roles';
import type { CostScope } from './scope';

interface ThreadSample {
  role: Role;
  ns: number;
  userTicks: number;
  sysTicks: number;
  inCgroup: boolean;
  cpu: number;
}

export interface Sample {
  /** Host monotonic time the reading began, ns. */
  atNs: number;
  /** How long the reading took, ns: CPU spent meanwhile may fall either side of the edge. */
  spanNs: number;
  /** How late the reading began after the probe's mark, where both clocks are the host's. */
  delayNs?: number;
  /** The probe's mark time on its own clock (a guest's), where that is not the host's. */
  probeNs?: number;
  cgroup?: CgroupTimes;
  threads: Map<number, ThreadSample>;
  machine: MachineTimes;
}

/** Host monotonic time, ns: the clock samples, start-up intervals and same-clock marks are taken on. */
export const monoNs = (): number => Number(process.hrtime.bigint());

/**
 * Reads every thread of the scope, its cgroup and the machine's CPU times, as close together as it
 * can. `markNs`: the probe's mark time, on the host's clock when `sameClock`, else on its own.
 */
export function sample(scope: CostScope, markNs?: number, sameClock = true): Sample {
  const atNs = monoNs();
  const inCg = scope.cgroup ? cgroupThreads(scope.cgroup.path) : new Set<number>();
  const cgroup = scope.cgroup ? cgroupTimes(scope.cgroup.path) : undefined;
  const threads = new Map<number, ThreadSample>();
  for (const p of scope.processes) {
    for (const tid of tidsOf(p.pid)) {
      const t = threadTimes(p.pid, tid);
      if (!t) continue;
      const role = p.threads ? threadRole(p.threads, t.comm, tid === p.pid) : p.role ?? 'container';
      threads.set(tid, { role, ns: t.ns, userTicks: t.userTicks, sysTicks: t.sysTicks, inCgroup: inCg.has(tid), cpu: t.cpu });
    }
  }
  const machine = machineTimes();
  const delay = markNs !== undefined && sameClock ? atNs - markNs : undefined;
  const own = markNs !== undefined && !sameClock ? { probeNs: markNs } : {};
  return { atNs, spanNs: monoNs() - atNs, ...(delay !== undefined && delay >= 0 && delay < 1e9 ? { delayNs: delay } : {}), ...own, cgroup, threads, machine };
}

export interface HostCpu {
  /** Host time between the two readings, ns. */
  window_ns: number;
  /** Host CPU the boundary spent in the window, all roles, ns. */
  total_ns: number;
  user_ns: number;
  system_ns: number;
  by_role: Partial<Record<Role, number>>;
  /**
   * Bound on the CPU time that may sit on the wrong side of an edge: the readings' span and the
   * mark's delivery delay (same clock) or the host's window against the probe's (a guest's clock), times the boundary's average CPUs busy.
   */
  sampling_error_ns: number;
  /** The whole machine in the window (/proc/stat, 10 ms ticks per CPU). */
  machine: { cpus: number; busy_ns: number; softirq_ns: number; unattributed_ns: number };
  /** Where each figure comes from and how fine it is. */
  sources: string;
}

/**
 * Marks on another clock (a guest's): the delays of their delivery are unknown, but how much the
 * host's window differs from the probe's is not. That difference is what the edges may misplace.
 */
function deliverySkew(a: Sample, b: Sample): number {
  if (a.probeNs === undefined || b.probeNs === undefined) return 0;
  return Math.abs(b.atNs - a.atNs - (b.probeNs - a.probeNs));
}

function add(m: Partial<Record<Role, number>>, r: Role, v: number): void {
  m[r] = (m[r] ?? 0) + v;
}

/** What the scope spent between two samples. */
export function hostCpu(a: Sample, b: Sample, scope: CostScope): HostCpu {
  const byRole: Partial<Record<Role, number>> = {};
  let threadsOutside = 0;
  let threadsInside = 0;
  let userTicks = 0;
  let sysTicks = 0;
  for (const [tid, t] of b.threads) {
    const s = a.threads.get(tid);
    // A thread born in the window: all its time is the window's.
    const d = t.ns - (s?.ns ?? 0);
    add(byRole, t.role, d);
    if (t.inCgroup) threadsInside += d;
    else {
      threadsOutside += d;
      userTicks += t.userTicks - (s?.userTicks ?? 0);
      sysTicks += t.sysTicks - (s?.sysTicks ?? 0);
    }
  }
  let total = threadsOutside + threadsInside;
  let user = userTicks * TICK_NS;
  let sys = sysTicks * TICK_NS;
  if (scope.cgroup && a.cgroup && b.cgroup && Number.isFinite(b.cgroup.userNs)) {
    const cg = b.cgroup.ns - a.cgroup.ns;
    // The cgroup's own total is exact; sampled threads inside it are a split of it, the rest is
    // what came and went (an exec'd probe, exited threads).
    add(byRole, scope.cgroup.role, Math.max(0, cg - threadsInside));
    total = threadsOutside + Math.max(cg, threadsInside);
    user += b.cgroup.userNs - a.cgroup.userNs;
    sys += b.cgroup.sysNs - a.cgroup.sysNs;
  }
  // The user/system split is sampled at ticks (the cgroup's v1 usage_user/usage_sys too): scaled
  // to the exact total, as the kernel scales a task's times for /proc.
  if (user + sys > 0) {
    const u = user / (user + sys);
    user = Math.round(total * u);
    sys = total - user;
  }
  const window = b.atNs - a.atNs;
  const busy = (b.machine.busyTicks - a.machine.busyTicks) * TICK_NS;
  const edges = a.spanNs + b.spanNs + (a.delayNs ?? 0) + (b.delayNs ?? 0) + deliverySkew(a, b);
  for (const k of Object.keys(byRole) as Role[]) if (!byRole[k]) delete byRole[k];
  return {
    window_ns: window,
    total_ns: total,
    user_ns: user,
    system_ns: sys,
    by_role: byRole,
    sampling_error_ns: Math.round(window > 0 ? edges * (total / window) : 0),
    machine: { cpus: b.machine.cpus, busy_ns: busy, softirq_ns: (b.machine.softirqTicks - a.machine.softirqTicks) * TICK_NS, unattributed_ns: busy - total },
    sources: `threads: schedstat (ns)${scope.cgroup ? `; cgroup ${scope.cgroup.path} (total in ns)` : ''}; user/system: a split sampled at ${TICK_NS / 1e6} ms ticks, scaled to the total; machine: /proc/stat (${TICK_NS / 1e6} ms ticks per CPU: unattributed_ns is as coarse)`,
  };
}
