// A session's traces, one per block step: started before the step's probe, told its pid when it
// is spawned, stopped when its result is in, and turned into the result's attribution. Whatever
// fails is kept as the step's exact reason; the measurement itself never fails for it.
import type { CostScope } from '../cost/scope';
import type { BlockResult } from '../probe/types';
import { attribute, type AttributionField } from './attribution';
import { type RoleScope, roleScopeOf } from './by-role';
import { HostTrace, type TraceWindow } from './tracer';

/** Whom a session's traces follow, and how their windows are bounded. */
export interface StepTraceOptions {
  /** The target's scope now (lib/cost): its processes (a Sentry, a VMM) and cgroup are traced. */
  scope?: () => CostScope | undefined;
  /**
   * 'marks': the probe's mark writes are seen in the kernel (the probe's own on the host and in
   * runc-like containers, gVisor's Sentry's sendmsg relaying them); 'relayed': the session's mark
   * hook moves the window (a VM's frames), each edge late by the relay.
   */
  window: 'marks' | 'relayed';
  /** Each step's probe is a child this process spawns (not a VM's boot, which runs the steps). */
  spawnsProbe: boolean;
}

/** Operations each job logs for the matching when the workload did not ask for a log itself. */
export const ATTRIBUTION_SAMPLE = 10_000;

/** Records a step keeps: its logged operations' calls and requests, with room for the rest. */
export function recordBudget(opLog: number, jobs: number): number {
  return 3 * opLog * Math.max(1, jobs) + 4096;
}

export class StepTraces {
  private readonly live = new Map<number, HostTrace>();
  private readonly done = new Map<number, TraceWindow>();
  private readonly failed = new Map<number, string>();
  private readonly scopes = new Map<number, RoleScope | undefined>();

  constructor(private readonly file: string, private readonly o: StepTraceOptions = { window: 'marks', spawnsProbe: true }) {}

  /** Before step k's probe starts: the target's processes and cgroup followed, and its child to come. */
  begin(k: number, budget: number): void {
    this.guard(k, () => {
      const scope = roleScopeOf(this.o.scope?.());
      this.scopes.set(k, scope);
      this.live.set(k, HostTrace.start({
        file: this.file,
        recordBudget: budget,
        childrenOf: this.o.spawnsProbe ? [process.pid] : [],
        pids: scope?.processes.map((p) => p.pid) ?? [],
        cgroupId: scope?.cgroup?.id,
        window: this.o.window === 'marks' ? 'marks' : 'manual',
      }));
    });
  }

  /** The session received step k's mark: a relayed window moves now. */
  mark(k: number, which: 'measure-start' | 'measure-end'): void {
    if (this.o.window !== 'relayed') return;
    const t = this.live.get(k);
    if (t) this.guard(k, () => (which === 'measure-start' ? t.openWindow() : t.closeWindow()));
  }

  /**
   * Step k's probe (or what starts it) is process `pid`, a child of this one: traced since its
   * fork; this process's later children are not.
   */
  follow(k: number, pid: number): void {
    this.guard(k, () => {
      this.live.get(k)?.addPids([pid]);
      this.live.get(k)?.stopFollowingChildrenOf([process.pid]);
    });
  }

  /** Step k's result is in. */
  end(k: number): void {
    const t = this.live.get(k);
    this.live.delete(k);
    if (t) this.guard(k, () => this.done.set(k, t.stop()));
  }

  attribution(k: number, r: BlockResult): AttributionField {
    const why = this.failed.get(k);
    if (why) return { unavailable: why };
    const w = this.done.get(k);
    return w ? attribute(w, r, this.o.window === 'marks' ? 'probe marks' : 'relayed marks', this.scopes.get(k)) : { unavailable: 'no trace was taken of this step' };
  }

  /** Stops what is still running (a step that failed before its result). */
  stopAll(): void {
    for (const k of [...this.live.keys()]) this.end(k);
  }

  private guard(k: number, f: () => unknown): void {
    if (this.failed.has(k)) return;
    try {
      f();
    } catch (e) {
      this.failed.set(k, (e as Error).message);
    }
  }
}
