// The host-cost accounting of one execution: the probe's window marks arrive (a stderr line, a
// MARK frame), the scope is sampled at each, and each step gets its host CPU and memory.
import { cgroupTimes } from './cgroup';
import { hostMemory, type HostMemory } from './memory';
import { type HostPlacement, PlacementWatch } from './placement';
import { processTicks, TICK_NS } from './proc';
import { hostCpu, type HostCpu, sample, type Sample } from './sample';
import type { CostScope } from './scope';

export type MarkName = 'measure-start' | 'measure-end';

/** The edge a probe's stderr line marks, and its time on the probe's monotonic clock, if it is one. */
export function parseMark(line: string): { mark: MarkName; tNs?: number } | undefined {
  if (!line.startsWith('{"mark":')) return undefined;
  try {
    const m = JSON.parse(line) as { mark?: string; t_ns?: number };
    return m.mark === 'measure-start' || m.mark === 'measure-end' ? { mark: m.mark, tNs: m.t_ns } : undefined;
  } catch {
    return undefined;
  }
}

export interface StepCost {
  host_cpu?: HostCpu;
  host_memory?: HostMemory;
  host_placement?: HostPlacement;
}

export class CostMeter {
  private readonly starts = new Map<number, Sample>();
  private readonly costs = new Map<number, StepCost>();
  private readonly watches = new Map<number, PlacementWatch>();
  /** `sameClock`: the probe's mark times are on the host's monotonic clock (host, runc, ...). */
  constructor(private readonly scope: () => CostScope | undefined, private readonly sameClock = false) {}

  mark(k: number, which: MarkName, markNs?: number): void {
    const scope = this.scope();
    if (!scope) return;
    const s = sample(scope, markNs, this.sameClock);
    if (which === 'measure-start') {
      this.starts.set(k, s);
      if (scope.placement) this.watches.set(k, new PlacementWatch(scope).start());
      return;
    }
    const a = this.starts.get(k);
    if (!a) return;
    const placement = this.watches.get(k)?.stop();
    this.watches.delete(k);
    // Memory after the CPU reading: reading smaps takes longer than the window's edge may.
    const memory = hostMemory(scope);
    this.costs.set(k, { host_cpu: hostCpu(a, s, scope), ...(memory ? { host_memory: memory } : {}), ...(placement ? { host_placement: placement } : {}) });
  }

  of(k: number): StepCost {
    return this.costs.get(k) ?? {};
  }
}

/** From isoprobe's launch call to the probe's first line or frame, and the host CPU spent on it. */
export interface Startup {
  ns: number;
  /** The target's cgroup total (it was made at the launch) and its shim's or VMM's own time. */
  host_cpu_ns?: number;
  /** What the interval covers. */
  what: string;
}

/** The start-up of a target whose scope came into being at `launchedNs` and was ready at `readyNs`. */
export function startupOf(scope: CostScope | undefined, launchedNs: number, readyNs: number, what: string): Startup {
  let cpu: number | undefined;
  if (scope) {
    cpu = scope.cgroup ? cgroupTimes(scope.cgroup.path)?.ns ?? 0 : 0;
    // Processes outside the cgroup spent their whole life on this target: a shim, and without a
    // cgroup (no accounting hierarchy, not root) every process of the scope, a VMM's included.
    for (const p of scope.processes.filter((x) => !scope.cgroup || x.role === 'shim')) {
      const t = processTicks(p.pid);
      if (t) cpu += (t.userTicks + t.sysTicks) * TICK_NS;
    }
  }
  return { ns: Math.round(readyNs - launchedNs), ...(cpu !== undefined ? { host_cpu_ns: cpu } : {}), what };
}
