// The workload a command line names (`block`, `net rr`, `net stream`): the one place the CLI reads
// a workload's mode from argv, for run and sweep, with the option table of that mode.
import { expandKindWord } from '../compare/kinds';
import { optionError } from '../errors';
import { NET_OPTIONS } from '../probe/net-options';
import { BLOCK_OPTIONS } from '../probe/options';
import type { Workload } from '../targets/types';
import type { Table, Values } from './args';

export type WorkloadMode = Workload['kind'];

/** The workload's words in argv, the arguments before and after them, and its mode. */
export type WorkloadArg = { before: string[]; after: string[] } & (
  | { mode: 'block'; words: 'block'; table: typeof BLOCK_OPTIONS }
  | { mode: 'rr' | 'stream'; words: `net ${'rr' | 'stream'}`; table: typeof NET_OPTIONS }
);

/** What a block or net workload's options parse to. */
export type BlockValues = Values<typeof BLOCK_OPTIONS>;
export type NetValues = Values<typeof NET_OPTIONS>;

/**
 * Finds the workload in `isoprobe <command> [options] block|net rr|net stream [options]`; undefined
 * when none is named. `net` with another mode is refused by name.
 */
export function findWorkload(argv0: string[], command: string, o: { kindWords?: boolean } = {}): WorkloadArg | undefined {
  const at = argv0.findIndex((a) => a === 'block' || a === 'net');
  if (at < 0) return undefined;
  // run's `net udp-stream`: a kind's own word as its mode and flags (kinds.ts), `net stream --proto=udp`.
  const argv = o.kindWords && argv0[at] === 'net' ? expandKindWord(argv0, at + 1) : argv0;
  const before = argv.slice(0, at);
  if (argv[at] === 'block') return { mode: 'block', words: 'block', table: BLOCK_OPTIONS, before, after: argv.slice(at + 1) };
  const mode = argv[at + 1];
  if (mode !== 'rr' && mode !== 'stream') throw optionError('mode', `isoprobe ${command} net "${mode ?? ''}": expected rr or stream`);
  return { mode, words: `net ${mode}`, table: NET_OPTIONS, before, after: argv.slice(at + 2) };
}

/** The options of `table` among parsed values (a command's own options and the session's left out). */
export function pickValues<T extends Table>(values: object, table: T): Values<T> {
  const out: Partial<Record<keyof T, unknown>> = {};
  for (const [k, v] of Object.entries(values)) if (k in table && v !== undefined) out[k as keyof T] = v;
  // Each value was parsed by table[k] itself (parseArgs): it has that option's type.
  return out as Values<T>;
}
