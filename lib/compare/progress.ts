// The progress of a comparison: cells done, and the time left estimated from the cells' own
// budgets (warm-up + duration) rather than from cells counted, since a microVM's boot or a
// container's start weighs on the first cells only.
import { workloadNs } from '../targets/session';
import type { Suite, SuiteWorkload } from './suites';

export type ProgressReport = (done: number, total: number, etaMs: number, what: string) => void;

/** What a run's fixed costs (starts, exec, boots) add to its measuring time, before the run shows its own (measured here: 243 s for 225 s of cells). */
export const EXPECTED_OVERHEAD = 1.15;

/**
 * Time left, from the budgets (warm-up + duration) of the cells still to run. Early on the
 * run's own pace is mostly its start-up, so it is blended in as the measured share grows: the
 * first estimate is the cells' time with the expected overhead, the last the run's own pace.
 */
export function estimateLeftMs(elapsedMs: number, budgetDoneMs: number, budgetLeftMs: number): number {
  if (budgetLeftMs <= 0) return 0;
  const total = budgetDoneMs + budgetLeftMs;
  const weight = Math.min(1, budgetDoneMs / (0.25 * total));
  const pace = budgetDoneMs > 0 ? elapsedMs / budgetDoneMs : EXPECTED_OVERHEAD;
  return budgetLeftMs * ((1 - weight) * EXPECTED_OVERHEAD + weight * pace);
}

/** Counts the cells of a comparison as they finish and tells the listener, with the time left. */
export class CompareProgress {
  readonly total: number;
  private done = 0;
  private budgetLeft: number;
  private budgetDone = 0;
  private readonly budget: Map<string, number>;
  private readonly t0 = Date.now();

  constructor(suite: Suite, reps: number, targets: number, private readonly report?: ProgressReport) {
    this.total = reps * suite.workloads.length * targets;
    this.budget = new Map(suite.workloads.map((w) => [w.name, workloadNs(w.workload.options as { duration?: unknown; warmup?: unknown }) / 1e6]));
    this.budgetLeft = [...this.budget.values()].reduce((a, b) => a + b, 0) * reps * targets;
  }

  /** A cell is done: measured, or skipped (it failed before and is not retried). */
  count(w: SuiteWorkload, measured: boolean): void {
    this.done++;
    this.budgetLeft -= this.budget.get(w.name)!;
    if (measured) this.budgetDone += this.budget.get(w.name)!;
  }

  /** Tells the listener: `what` starts now, or (empty) a cell finished. */
  tell(what: string): void {
    this.report?.(this.done, this.total, estimateLeftMs(Date.now() - this.t0, this.budgetDone, this.budgetLeft), what);
  }

  finished(): void {
    this.report?.(this.total, this.total, 0, 'done');
  }
}
