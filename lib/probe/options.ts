// Block options: their types here, their table (kind, default, bounds, help) from the core, from
// which validation, the CLI and the probe's flags are all derived.
import { optionError } from '../errors';
import { parseDuration, parseSize } from '../units';
import { coreOptionTable } from './option-table';

export { ENGINES, PATTERNS, CLOCKS, LOCKS } from './option-types';
export type { Engine, Pattern, ClockSource, BlockOptions, BlockInput, OptionDef } from './option-types';
import type { BlockOptions, OptionDef } from './option-types';

/** Read from the core's table (native/core/block_options.cc): the one declaration of each option. */
export const BLOCK_OPTIONS = coreOptionTable<BlockOptions>('block');

export function flagOf(key: string): string {
  return `--${key.replace(/_/g, '-')}`;
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** The closest known name, when one is close enough to be a likely typo. */
export function suggest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const dist = levenshtein(name.toLowerCase(), k);
    if (dist < bestD) {
      bestD = dist;
      best = k;
    }
  }
  if (best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3))) return best;
  // "qdepth" for "qd", "dur" for "duration": one name starting the other is a likely slip too.
  const lower = name.toLowerCase();
  return known.find((k) => k.length >= 2 && (lower.startsWith(k) || k.startsWith(lower)));
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** A bound in the flag's own notation: 64M rather than 67108864, 1ms rather than 1000000. */
function boundText(kind: string, n: number): string {
  const units: [string, number][] = kind === 'duration' ? [['h', 3600e9], ['m', 60e9], ['s', 1e9], ['ms', 1e6], ['us', 1e3]]
    : kind === 'size' ? [['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20], ['k', 2 ** 10]] : [];
  const u = units.find(([, m]) => n !== 0 && n % m === 0);
  return u ? `${n / u[1]}${u[0]}` : kind === 'duration' ? `${n}ns` : String(n);
}

/** Parses one value by its definition. `value` may come from JS (typed) or from argv (text). */
export function coerce(key: string, def: OptionDef<unknown>, value: unknown): unknown {
  const flag = flagOf(key);
  const bad = (expected: string) => optionError(key, `${flag} ${show(value)}: expected ${expected}`);
  const range = (n: number, expected: string) => {
    if (def.min !== undefined && n < def.min) throw bad(`${expected} of at least ${boundText(def.kind, def.min)}`);
    if (def.max !== undefined && n > def.max) throw bad(`${expected} of at most ${boundText(def.kind, def.max)}`);
    return n;
  };
  switch (def.kind) {
    case 'string':
      if (typeof value !== 'string' || value === '') throw bad('a non-empty string');
      if (value.includes('\0')) throw bad('a path without NUL bytes');
      return value;
    case 'enum':
      if (typeof value !== 'string' || value === '' || !def.choices!.includes(value)) throw bad(`one of ${def.choices!.filter((c) => c !== '').join(', ')}`);
      return value;
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (value === 'true') return true;
      if (value === 'false') return false;
      throw bad('true or false');
    case 'size': {
      const n = typeof value === 'number' ? value : typeof value === 'string' ? parseSize(value) : undefined;
      if (n === undefined || !Number.isSafeInteger(n) || n < 0)
        throw bad('a size in bytes with an optional k/M/G/T suffix (powers of 1024)');
      return range(n, 'a size');
    }
    case 'duration': {
      const n = typeof value === 'number' ? value : typeof value === 'string' ? parseDuration(value) : undefined;
      if (n === undefined || !Number.isSafeInteger(n) || n < 0) throw bad('a time with a unit: ns, us, ms, s, m or h');
      return range(n, 'a time');
    }
    case 'uint':
    case 'int': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(n) || (def.kind === 'uint' && n < 0))
        throw bad(def.kind === 'uint' ? 'a whole number >= 0' : 'a whole number');
      return range(n, 'a number');
    }
  }
}

/**
 * Validates and completes block options. Throws IsoprobeError (code EINVALOPT, `option` set) on the
 * first problem: unknown keys (with a suggestion), wrong types, out-of-range values. Cross-field
 * rules (alignment with O_DIRECT, queue depth per engine) are the core's, checked before any I/O.
 */
export function normalizeBlockOptions(input: Record<string, unknown>): BlockOptions {
  if (typeof input !== 'object' || input === null) throw optionError('options', 'block options: expected an object');
  const known = Object.keys(BLOCK_OPTIONS);
  for (const key of Object.keys(input)) {
    if (!(key in BLOCK_OPTIONS)) {
      const s = suggest(key.replace(/-/g, '_'), known);
      throw optionError(key, `unknown option "${key}"${s ? `; did you mean "${s}" (${flagOf(s)})?` : ''}`);
    }
  }
  if (input.file === undefined) throw optionError('file', '--file: expected a path to a data file or block device');
  const out: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(BLOCK_OPTIONS) as [string, OptionDef<unknown>][]) {
    // jobs: vcpus (a suite's word for one job per CPU where the probe runs) is the core's 0.
    const v = key === 'jobs' && input[key] === 'vcpus' ? 0 : input[key];
    out[key] = v === undefined ? def.default : coerce(key, def, v);
  }
  return out as unknown as BlockOptions;
}

/** The probe binary's flags for these options (every option explicit, so defaults cannot drift). */
export function toProbeFlags(o: BlockOptions): string[] {
  return (Object.keys(BLOCK_OPTIONS) as (keyof BlockOptions)[]).map((k) => {
    const def = BLOCK_OPTIONS[k];
    const v = o[k];
    return `${flagOf(k)}=${def.kind === 'duration' ? `${v}ns` : String(v)}`;
  });
}
