// A session's traces, one per block step: started before the step's probe, told its pid when it
// is spawned, stopped when its result is in, and turned into the result's attribution. Whatever
// fails is kept as the step's exact reason; the measurement itself never fails for it.
import type { BlockResult } from '../probe/types';
import { attribute, type AttributionField } from './attribution';
import { HostTrace, type TraceWindow } from './tracer';

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

  constructor(private readonly file: string) {}

  /** Before step k's probe starts. */
  begin(k: number, budget: number): void {
    this.guard(k, () => this.live.set(k, HostTrace.start({ file: this.file, recordBudget: budget, childrenOf: [process.pid] })));
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
    return w ? attribute(w, r) : { unavailable: 'no trace was taken of this step' };
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
