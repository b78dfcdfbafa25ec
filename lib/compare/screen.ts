// Disturbance screening: what could have disturbed one measured block, recorded beside it where
// it happens (the probe's own run delay, steal on the measuring CPU, a CPU canary timed on that
// CPU before and after), and a verdict from thresholds fixed in advance, applied blind to whether
// the block was A or B. A pair with a disturbed block is measured again, and counted.
import { native } from '../probe/native';
import { readCounters } from '../system/facts';
import { median } from '../stats/resample';
import type { BlockResult, NetResult } from '../probe/types';

/** A probe's result, from any target (what the screen reads is the probe's own). */
type Measured = BlockResult | NetResult;

export interface Disturbance {
  /** Share of the window the measuring threads waited, runnable, for a CPU (schedstat); null: not kept. */
  runDelay: number | null;
  /** Share of the measuring CPU's time certainly stolen by the hypervisor over the block (/proc/stat; stolenShare). */
  steal: number;
  /** The slower of the canaries before and after the block, over the canary's quiet time. */
  canary: number;
}

/**
 * Fixed before any comparison, from A/A runs on an idle 2-vCPU VM (docs/precision.md): a quiet
 * block's run delay stayed under 2 % of its window, its canary within 1.25x of the quiet median;
 * these limits leave room above that. Steal is time the measuring thread could not run, as run
 * delay is, and has its limit: on a later machine of the same kind, which reports steal, a third
 * of 400 ms blocks lost some, from one tick to 29 % of the block; at a 2 % limit the screen
 * discarded 59 % of a 10-minute run's pairs, and 35 s A/A runs found a smaller change without the
 * screen than with it (p50 could find 8.2-8.5 % against 10.2-10.4 %).
 */
export const SCREEN_LIMITS = { runDelay: 0.05, steal: 0.05, canary: 1.5 } as const;

/** Why a block counts as disturbed, or undefined. */
export function disturbedBy(d: Disturbance, limits = SCREEN_LIMITS): string | undefined {
  const why: string[] = [];
  if (d.runDelay !== null && d.runDelay > limits.runDelay) why.push(`run delay ${(d.runDelay * 100).toFixed(1)} % of the window`);
  if (d.steal > limits.steal) why.push(`steal ${(d.steal * 100).toFixed(1)} %`);
  if (d.canary > limits.canary) why.push(`canary ${d.canary.toFixed(2)}x its quiet time`);
  return why.length ? why.join(', ') : undefined;
}

/**
 * The share of a block certainly stolen, from the measuring CPU's /proc/stat ticks over it: the
 * counters move in whole ticks (USER_HZ, 10 ms), so a block that saw one tick of steal may have
 * lost anything from nothing to two ticks; only the ticks beyond that one count. (A machine here
 * with 0.5 % steal overall gave one tick in about half of all 400 ms blocks: 2.5 % each, past the
 * limit, and half the pairs of an idle machine were discarded.)
 */
export function stolenShare(stealTicks: number, allTicks: number): number {
  return allTicks > 0 ? Math.max(0, stealTicks - 1) / allTicks : 0;
}

/** The measuring threads' wait for a CPU over the window, as a share of their time in it. */
export function runDelayShare(r: Measured): number | null {
  const delay = (r.cpu as { run_delay_ns?: number | null } | undefined)?.run_delay_ns;
  if (delay === null || delay === undefined) return null;
  const threads = r.kind === 'block' ? Math.max(1, r.jobs?.length ?? 1) : Math.max(1, Number((r.options as { conns?: number; streams?: number }).conns ?? 1));
  const window = r.elapsed_ns;
  return window > 0 ? delay / (window * threads) : null;
}

/**
 * The canary's length: long enough to outlast the head start the scheduler gives a thread that
 * wakes from sleep. Measured here beside a hog pinned to its CPU: a 0.9 ms canary ran in 1.0x its
 * quiet time (it finished inside that head start), a 9 ms one in 1.9x, an 18 ms one in 1.9x.
 */
export const CANARY_NS = 8e6;

/** A screener for one measuring CPU: calibrate once, then wrap each block. */
export class Screener {
  private quietNs = 0;
  private iterations = 0;
  constructor(readonly cpu: number) {}

  /** The canary's work (about CANARY_NS) and its quiet time: medians of a few runs now (a disturbed one is outvoted). */
  calibrate(samples = 7): void {
    const probe = median(Array.from({ length: 3 }, () => native().canary(this.cpu, 1_000_000)));
    this.iterations = Math.max(100_000, Math.round((CANARY_NS / probe) * 1_000_000));
    this.quietNs = median(Array.from({ length: samples }, () => native().canary(this.cpu, this.iterations)));
  }

  /** Runs one block between two canaries and returns its value with what disturbed it. */
  async around<T extends Measured | Error>(block: () => Promise<T>): Promise<{ value: T; disturbance: Disturbance }> {
    if (!this.quietNs) this.calibrate();
    const before = native().canary(this.cpu, this.iterations);
    const s0 = readCounters().cpus.get(this.cpu);
    const value = await block();
    const s1 = readCounters().cpus.get(this.cpu);
    const after = native().canary(this.cpu, this.iterations);
    const ticks = (c: typeof s0) => (c ? c.busy + c.idle + c.steal : 0);
    const all = ticks(s1) - ticks(s0);
    return {
      value,
      disturbance: {
        runDelay: value instanceof Error ? null : runDelayShare(value),
        steal: stolenShare(s1 && s0 ? s1.steal - s0.steal : 0, all),
        canary: Math.max(before, after) / this.quietNs,
      },
    };
  }
}
