// argv parsing driven by an option table: --name value, --name=value, --flag, --no-flag. The
// parsed values are typed from the table (each option's value has its default's type), and the
// command line's own argument kinds (percentages, probabilities) have one parser each here.
import { optionError } from '../errors';
import { type OptionDef, coerce, flagOf, suggest } from '../probe/options';

/** An argument kind of the command line alone: what it expects, its parser, its help text. */
interface ArgKind<T> {
  /** What a value must look like, in the error that refuses one. */
  expected: string;
  /** The value of a text, or undefined when it is not one. */
  parse(text: string): T | undefined;
  /** A value as --help shows it. */
  show(v: T): string;
  /** The word --help shows after the flag. */
  word: string;
}

/** "5%" or 0.05 → 0.05: a noise threshold, a precision, a share. */
const percent: ArgKind<number> = {
  expected: 'a percentage like 5% (or a fraction like 0.05)',
  parse(s) {
    const m = /^(\d+(?:\.\d+)?)%$/.exec(s) ?? /^(0?\.\d+)$/.exec(s);
    return m ? (s.endsWith('%') ? Number(m[1]) / 100 : Number(m[1])) : undefined;
  },
  show: (v) => `${+(v * 100).toPrecision(12)}%`,
  word: 'PERCENT',
};

/** A significance level: strictly between 0 and 1. */
const probability: ArgKind<number> = {
  expected: 'a number between 0 and 1',
  parse(s) {
    const x = Number(s);
    return x > 0 && x < 1 ? x : undefined;
  },
  show: (v) => String(v),
  word: 'NUMBER',
};

export const ARG_KINDS = { percent, probability };
export type ArgKindName = keyof typeof ARG_KINDS;

/** An option of a command-line argument kind (the core's kinds are OptionDef's). */
export interface ArgDef<T> {
  kind: ArgKindName;
  default: T;
  help: string;
  defaultText?: string;
  /** None of these: readers of a table see the same fields on every definition. */
  choices?: undefined;
  min?: undefined;
  max?: undefined;
}

export type Def = OptionDef<unknown> | ArgDef<unknown>;
export type Table = Record<string, Def>;

/** The value an option parses to: its default's type. */
export type ValueOf<D> = D extends { default: infer T } ? T : never;
/** The options given on the command line (absent when not given), each of its own type. */
export type Values<T extends Table> = { -readonly [K in keyof T]?: ValueOf<T[K]> };

export interface Parsed<T extends Table> {
  values: Values<T>;
  positionals: string[];
}

/** An enum option whose value is one of `choices` (typed as that union, not as string). */
export function oneOf<const C extends readonly string[]>(choices: C, d: C[number], help: string, defaultText?: string): OptionDef<C[number]> {
  return { kind: 'enum', default: d, choices, help, ...(defaultText === undefined ? {} : { defaultText }) };
}

function isArgKind(d: Def): d is ArgDef<unknown> {
  return d.kind in ARG_KINDS;
}

/** Parses one value of an option of the table: the core's kinds by coerce, the CLI's by their parser. */
export function parseValue(key: string, def: Def, value: unknown): unknown {
  if (!isArgKind(def)) return coerce(key, def, value);
  const kind: ArgKind<unknown> = ARG_KINDS[def.kind];
  const v = typeof value === 'string' ? kind.parse(value) : undefined;
  if (v === undefined) throw optionError(key, `${flagOf(key)} ${JSON.stringify(String(value))}: expected ${kind.expected}`);
  return v;
}

export function parseArgs<T extends Table>(argv: string[], table: T, command: string): Parsed<T> {
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const byFlag = new Map(Object.keys(table).map((k) => [flagOf(k), k]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const flag = eq >= 0 ? a.slice(0, eq) : a;
    let key = byFlag.get(flag);
    let value: unknown = eq >= 0 ? a.slice(eq + 1) : undefined;
    if (key === undefined && flag.startsWith('--no-')) {
      const k = byFlag.get(`--${flag.slice(5)}`);
      if (k !== undefined && table[k]!.kind !== 'bool') throw optionError(k, `${flag}: --${flag.slice(5)} takes a value and has no --no- form`);
      if (k !== undefined) {
        if (value !== undefined) throw optionError(k, `${flag} takes no value`);
        key = k;
        value = false;
      }
    }
    if (key === undefined) {
      const s = suggest(flag.slice(2), [...byFlag.keys()].map((f) => f.slice(2)));
      throw optionError(flag.slice(2), `${flag}: unknown option for "isoprobe ${command}"${s ? `; did you mean --${s}?` : ''} (see isoprobe ${command} --help)`);
    }
    const def = table[key]!;
    if (value === undefined) {
      if (def.kind === 'bool') value = true;
      else {
        if (i + 1 >= argv.length) throw optionError(key, `${flag}: expected a value after it`);
        value = argv[++i];
      }
    }
    if (key in values) throw optionError(key, `${flag} is given twice`);
    values[key] = parseValue(key, def, value);
  }
  // Each value was parsed by its own option's definition above: it has that option's type.
  return { values: values as Values<T>, positionals };
}

function sizeText(n: number): string {
  for (const [u, m] of [['G', 2 ** 30], ['M', 2 ** 20], ['k', 2 ** 10]] as const) if (n >= m && n % m === 0) return `${n / m}${u}`;
  return String(n);
}

export const HELP = { help: { kind: 'bool', default: false, help: 'show this help' } } satisfies Table;

/**
 * Parses a command's argv with its table plus --help. Returns undefined after printing the help
 * (the caller exits 0), so every command answers --help the same way.
 */
export function parseCommand<T extends Table>(argv: string[], table: T, command: string, head: string[], out: (s: string) => void): Parsed<T> | undefined {
  const full = { ...table, ...HELP };
  const parsed = parseArgs(argv, full, command);
  if (parsed.values.help) {
    out([...head, '', ...usageLines(full), ''].join('\n'));
    return undefined;
  }
  const { help: _help, ...values } = parsed.values;
  return { values: values as Values<T>, positionals: parsed.positionals };
}

export function usageLines(table: Table): string[] {
  return Object.entries(table).map(([k, d]) => {
    let arg: string;
    let shown: string | undefined;
    if (isArgKind(d)) {
      const kind: ArgKind<unknown> = ARG_KINDS[d.kind];
      arg = ` ${kind.word}`;
      shown = d.defaultText ?? (d.default === undefined ? undefined : kind.show(d.default));
    } else {
      const choices = (d.choices ?? []).filter((c) => c !== '');
      arg = d.kind === 'bool' ? '' : d.kind === 'enum' ? ` ${choices.join('|')}` : ` ${d.kind.toUpperCase()}`;
      // '' is "not given": the help shows the real default when one is described, or nothing.
      if (d.defaultText !== undefined) shown = d.defaultText;
      else if (d.kind === 'bool') shown = d.default ? 'on' : 'off';
      else if (d.default === '') shown = undefined;
      else if (d.kind === 'duration') shown = `${Number(d.default) / 1e9}s`;
      else if (d.kind === 'size') shown = sizeText(Number(d.default));
      else shown = String(d.default);
    }
    return `  ${(flagOf(k) + arg).padEnd(36)} ${d.help}${shown === undefined ? '' : ` (default ${shown})`}`;
  });
}
