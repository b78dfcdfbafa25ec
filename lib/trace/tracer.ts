// A host-side trace of some processes' I/O on one data file: started before the traced process
// opens its window, stopped after; what it saw is handed to the attribution (attribution.ts).
// The processes are any the session names: the host probe now, a Sentry's or a VMM's later.
import { IsoprobeError } from '../errors';
import { traceUnavailable } from './available';
import { kvmPlan } from './kvm';
import { type FileMapJson, type RawTrace, traceAddon } from './native';

export interface TraceSpec {
  /** Processes whose threads, and children forked later, are traced. More can follow (addPids). */
  pids?: number[];
  /**
   * Processes whose children are traced from their fork on (not they themselves): who starts the
   * traced process names itself here, so the child is followed before it runs a single line.
   */
  childrenOf?: number[];
  /** A cgroup v2 (its id: the inode of its directory) whose tasks are traced as well. */
  cgroupId?: number;
  /** The host data file (or block device) whose I/O calls and device requests are followed. */
  file: string;
  /**
   * 'marks' (default): the traced process's own measure-start/measure-end lines (the probe's
   * --marks) open and close the window, seen at the write itself; 'manual': openWindow/closeWindow.
   */
  window?: 'marks' | 'manual';
  /** Per-operation records at most (I/O calls and requests together); counts are kept regardless. */
  recordBudget?: number;
}

/** What a trace saw: its raw records and counts, and where the file lay. */
export interface TraceWindow extends RawTrace {
  file: string;
  map: FileMapJson;
}

export class HostTrace {
  private constructor(private handle: number | undefined, private readonly file: string, private readonly map: FileMapJson, private readonly notes: string[]) {}

  /** Starts tracing, or throws an IsoprobeError (EUNAVAILABLE) with the exact reason. */
  static start(spec: TraceSpec): HostTrace {
    const why = traceUnavailable();
    if (why) throw new IsoprobeError('EUNAVAILABLE', why);
    const addon = traceAddon();
    const map = addon.traceMapFile(spec.file);
    const kvm = kvmPlan();
    try {
      const handle = addon.traceStart({
        pids: spec.pids ?? [],
        parents: spec.childrenOf ?? [],
        cgroupId: spec.cgroupId,
        fileIno: map.ino,
        fileMajor: map.major,
        fileMinor: map.minor,
        rdevMajor: map.rdev_major,
        rdevMinor: map.rdev_minor,
        diskMajor: map.disk_major,
        diskMinor: map.disk_minor,
        extents: map.extents,
        windowByMarks: (spec.window ?? 'marks') === 'marks',
        recordBudget: spec.recordBudget,
        kvmEvents: kvm.events,
        kvmExitReasonOffset: kvm.exitReasonOffset,
      });
      return new HostTrace(handle, spec.file, map, kvm.notes);
    } catch (e) {
      throw new IsoprobeError('EUNAVAILABLE', (e as Error).message, { cause: e });
    }
  }

  addPids(pids: number[]): void {
    traceAddon().traceAddPids(this.live(), pids);
  }

  /** These no longer have their further children traced (the one that mattered is followed). */
  stopFollowingChildrenOf(pids: number[]): void {
    traceAddon().traceDropParents(this.live(), pids);
  }

  openWindow(): void {
    traceAddon().traceWindow(this.live(), true);
  }

  closeWindow(): void {
    traceAddon().traceWindow(this.live(), false);
  }

  /** 'waiting' | 'open' | 'closed'. */
  windowState(): 'waiting' | 'open' | 'closed' {
    return (['waiting', 'open', 'closed'] as const)[traceAddon().traceWindow(this.live())]!;
  }

  /** Detaches and returns what the window held. A trace stops once. */
  stop(): TraceWindow {
    const raw = traceAddon().traceStop(this.live());
    this.handle = undefined;
    return { ...raw, not_traced: [...raw.not_traced, ...this.notes], file: this.file, map: this.map };
  }

  private live(): number {
    if (this.handle === undefined) throw new IsoprobeError('EINVAL', 'this trace was stopped already');
    return this.handle;
  }
}
