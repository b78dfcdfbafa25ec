// Which host CPUs a boundary's threads ran on over the measured window (a VMM's vCPU, main-loop and
// I/O threads): each thread's last CPU (stat field 39) read every few milliseconds and kept only
// when the thread ran since the reading before (its schedstat time moved), so a sleeping thread
// adds no CPU it did not use; the scheduler's own count of its migrations where the kernel keeps
// one (/proc/.../sched, CONFIG_SCHED_DEBUG), and the CPUs it was allowed.
import { threadAllowedCpus, threadMigrations, threadTimes, tidsOf } from './proc';
import { type Role, threadRole } from './roles';
import type { CostScope } from './scope';

export interface ThreadPlacement {
  /** The thread's name (QEMU's "CPU 0/TCG", Firecracker's "fc_vcpu 0", ...). */
  name: string;
  role: Role;
  /** The host CPUs it was seen running on in the window, ascending. */
  cpus: number[];
  /** Times the scheduler moved it to another CPU in the window (absent where the kernel does not count). */
  migrations?: number;
  /** The CPUs it was allowed at the window's end (Cpus_allowed_list). */
  allowed: number[];
  /** Its CPU time in the window, ns (schedstat). */
  ran_ns: number;
}

export interface HostPlacement {
  threads: ThreadPlacement[];
  /** Readings taken over the window, and their interval. */
  samples: number;
  interval_ms: number;
  source: string;
}

interface Seen {
  pid: number;
  name: string;
  role: Role;
  ns0: number;
  ns: number;
  cpus: Set<number>;
  migrations0?: number;
}

export const PLACEMENT_INTERVAL_MS = 20;

/** Samples a scope's threads from start() to stop(). */
export class PlacementWatch {
  private readonly seen = new Map<number, Seen>();
  private samples = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly scope: CostScope, private readonly intervalMs = PLACEMENT_INTERVAL_MS) {}

  start(): this {
    this.read(true);
    this.timer = setInterval(() => this.read(false), this.intervalMs);
    this.timer.unref();
    return this;
  }

  private read(first: boolean): void {
    this.samples++;
    for (const p of this.scope.processes) {
      for (const tid of tidsOf(p.pid)) {
        const t = threadTimes(p.pid, tid);
        if (!t) continue;
        let s = this.seen.get(tid);
        if (!s) {
          const role = p.threads ? threadRole(p.threads, t.comm, tid === p.pid) : p.role ?? 'container';
          // A thread born in the window ran from nothing: all its time and CPUs are the window's.
          s = { pid: p.pid, name: t.comm, role, ns0: first ? t.ns : 0, ns: first ? t.ns : 0, cpus: new Set(), migrations0: first ? threadMigrations(p.pid, tid) : 0 };
          this.seen.set(tid, s);
        }
        if (t.ns > s.ns) s.cpus.add(t.cpu);
        s.ns = t.ns;
      }
    }
  }

  /** The window's placement: the threads that ran in it, by role then name. */
  stop(): HostPlacement {
    clearInterval(this.timer);
    this.read(false);
    const threads: ThreadPlacement[] = [];
    for (const [tid, s] of this.seen) {
      if (s.ns <= s.ns0) continue;
      const m = threadMigrations(s.pid, tid);
      threads.push({
        name: s.name, role: s.role, cpus: [...s.cpus].sort((a, b) => a - b),
        ...(m !== undefined && s.migrations0 !== undefined ? { migrations: m - s.migrations0 } : {}),
        allowed: threadAllowedCpus(s.pid, tid) ?? [], ran_ns: s.ns - s.ns0,
      });
    }
    threads.sort((a, b) => a.role.localeCompare(b.role) || a.name.localeCompare(b.name, 'en', { numeric: true }));
    return {
      threads, samples: this.samples, interval_ms: this.intervalMs,
      source: `each thread's last CPU (/proc/PID/task/TID/stat field 39) every ${this.intervalMs} ms, kept when its schedstat time moved; migrations: se.nr_migrations of /proc/PID/task/TID/sched`,
    };
  }
}
