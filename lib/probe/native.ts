// Typed handle on the compiled addon (build/Release/isoprobe.node).
import type { ProgressEvent } from './types';

export interface NativeAddon {
  startBlock(options: Record<string, unknown>, onProgress: ((p: ProgressEvent) => void) | null,
    onDone: (err: (Error & Record<string, unknown>) | null, json: string | null) => void): () => void;
  validateBlock(options: Record<string, unknown>): void;
  startNet(options: Record<string, unknown>, onProgress: ((p: ProgressEvent) => void) | null,
    onDone: (err: (Error & Record<string, unknown>) | null, json: string | null) => void): () => void;
  startServer(options: Record<string, unknown>): { address: string; cpus: number[]; stop(): void; stats(): { connections: number; echoed: number } };
  validateNet(options: Record<string, unknown>, ownServer?: boolean): void;
  /** How far opening a KVM device gets: the stage it stopped at ("ok": a VM was created), errno there. */
  kvmOpen(path: string): { stage: 'open' | 'version' | 'create' | 'ok'; errno: number; message: string; api: number; expected: number };
  lockFile(path: string, exclusive: boolean): number | { holders: number[] };
  unlockFile(fd: number, unlinkPath?: string): void;
  tscHz(): number;
  /** A fixed amount of work (iterations of a dependent loop) timed on one CPU (-1: unpinned), ns. */
  canary(cpu: number, iterations: number): number;
  pageCache(path: string, op: 'evict' | 'count'): { resident_bytes: number; size_bytes: number };
  histogramJson(values: Float64Array): string;
  /** RFC 3550 interarrival jitter (ns) of send and arrival times given in arrival order: the UDP stream receiver's code. */
  rfc3550Jitter(sendNs: Float64Array, arrivalNs: Float64Array): number;
  /** JSON [{name, kind, choices, help, default, min?, max?}] of the core's option table. */
  optionTable(which?: 'block' | 'net'): string;
  sha256File(path: string): string;
  version: string;
  schema: number;
}

let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  if (!addon) addon = require('bindings')('isoprobe') as NativeAddon;
  return addon;
}
