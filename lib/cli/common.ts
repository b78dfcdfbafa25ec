// What several commands share: the common flags (--json, --via, --format fio-json), the --targets
// list, a RUN argument and the lists and metrics given as text.
import { parseVariantList, type Variant } from '../targets/variant';
import { optionError } from '../errors';
import type { Table } from './args';
import { type Metric, METRICS } from '../compare/ab';

export const COMMON: Table = {
  json: { kind: 'bool', default: false, help: 'print the result as JSON' },
  via: { kind: 'enum', default: 'addon', choices: ['addon', 'binary'], help: 'run in this process (addon) or as the static probe binary' },
};
export const JSON_ONLY: Table = { json: COMMON.json! };
/** A block result in fio's json+ (lib/formats/fio-json.ts), for pipelines that read fio's output. */
export const FIO_FORMAT: Table = { format: { kind: 'enum', default: 'text', choices: ['text', 'fio-json'], help: "fio-json: the result as fio's --output-format=json+ (block)" } };
/** `net udp-stream` is `net stream --proto udp`: the mode a UDP stream (kind udp_stream) runs in. */
export const udpStream = (argv: string[], at: number) => (argv[at] === 'udp-stream' ? [...argv.slice(0, at), 'stream', ...argv.slice(at + 1), '--proto=udp'] : argv);

/** --targets: names, variants ("qemu-microvm[kernel=6.12]"), or @FILE. */
export function parseTargets(text: string): Variant[] {
  return parseVariantList(text, 'targets');
}
export function runArg(positionals: string[], cmd: string): number {
  const r = positionals[0];
  if (!r || !/^\d+$/.test(r)) throw optionError('run', `isoprobe ${cmd} RUN: expected a run number (see isoprobe history)${r ? `, not "${r}"` : ''}`);
  return Number(r);
}
export function parseThreshold(s: string, option = 'threshold'): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(s) ?? /^(0?\.\d+)$/.exec(s);
  if (!m) throw optionError(option, `--${option.replace(/_/g, '-')} "${s}": expected a percentage like 5% (or a fraction like 0.05)`);
  return s.endsWith('%') ? Number(m[1]) / 100 : Number(m[1]);
}

export function parseAlpha(v: unknown): number {
  const alpha = Number((v as string | undefined) ?? '0.01');
  if (!(alpha > 0 && alpha < 1)) throw optionError('alpha', `--alpha "${v}": expected a number between 0 and 1`);
  return alpha;
}

export function list(v: unknown): string[] | undefined {
  return typeof v === 'string' && v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined;
}

export function parseMetrics(v: unknown, choices: readonly Metric[] = METRICS): Metric[] | undefined {
  const ms = list(v);
  for (const m of ms ?? []) if (!(choices as readonly string[]).includes(m)) throw optionError('metric', `--metric "${m}": expected one of ${choices.join(', ')}`);
  return ms as Metric[] | undefined;
}
