// What several commands share: the common flags (--json, --via, --format fio-json), the --targets
// list, a RUN argument and the lists and metrics given as text.
import { parseVariantList, type Variant } from '../targets/variant';
import { optionError } from '../errors';
import { oneOf, type Table } from './args';
import { type Metric, METRICS } from '../compare/ab';

export const COMMON = {
  json: { kind: 'bool', default: false, help: 'print the result as JSON' },
  via: oneOf(['addon', 'binary'], 'addon', 'run in this process (addon) or as the static probe binary'),
} satisfies Table;
export const JSON_ONLY = { json: COMMON.json } satisfies Table;
/** A block result in fio's json+ (lib/formats/fio-json.ts), for pipelines that read fio's output. */
export const FIO_FORMAT = { format: oneOf(['text', 'fio-json'], 'text', "fio-json: the result as fio's --output-format=json+ (block)") } satisfies Table;
/** --targets: names, variants ("qemu-microvm[kernel=6.12]"), or @FILE. */
export function parseTargets(text: string): Variant[] {
  return parseVariantList(text, 'targets');
}
export function runArg(positionals: string[], cmd: string): number {
  const r = positionals[0];
  if (!r || !/^\d+$/.test(r)) throw optionError('run', `isoprobe ${cmd} RUN: expected a run number (see isoprobe history)${r ? `, not "${r}"` : ''}`);
  return Number(r);
}
/** A comma-separated list as given (blank items dropped); undefined when none was given. */
export function list(v: string | undefined): string[] | undefined {
  return v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined;
}

/** --metric: the metrics named, each one of `choices`. */
export function parseMetrics(v: string | undefined, choices: readonly Metric[] = METRICS): Metric[] | undefined {
  const names = list(v);
  if (!names) return undefined;
  return names.map((m) => {
    const known = choices.find((c) => c === m);
    if (known === undefined) throw optionError('metric', `--metric "${m}": expected one of ${choices.join(', ')}`);
    return known;
  });
}

/** The code of a thrown error (IsoprobeError's EINVALOPT, ECANCELED, ...; Node's ENOENT), if it has one. */
export function codeOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined;
}

/** What a thrown value says. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
