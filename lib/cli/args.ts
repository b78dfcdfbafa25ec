// argv parsing driven by an option table: --name value, --name=value, --flag, --no-flag.
import { optionError } from '../errors';
import { type OptionDef, coerce, flagOf, suggest } from '../probe/options';

export type Table = Record<string, OptionDef<unknown>>;

export interface Parsed {
  values: Record<string, unknown>;
  positionals: string[];
}

export function parseArgs(argv: string[], table: Table, command: string): Parsed {
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
    values[key] = coerce(key, def, value);
  }
  return { values, positionals };
}

function sizeText(n: number): string {
  for (const [u, m] of [['G', 2 ** 30], ['M', 2 ** 20], ['k', 2 ** 10]] as const) if (n >= m && n % m === 0) return `${n / m}${u}`;
  return String(n);
}

export const HELP: Table = { help: { kind: 'bool', default: false, help: 'show this help' } };

/**
 * Parses a command's argv with its table plus --help. Returns undefined after printing the help
 * (the caller exits 0), so every command answers --help the same way.
 */
export function parseCommand(argv: string[], table: Table, command: string, head: string[], out: (s: string) => void): Parsed | undefined {
  const full = { ...table, ...HELP };
  const parsed = parseArgs(argv, full, command);
  if (parsed.values.help) {
    out([...head, '', ...usageLines(full), ''].join('\n'));
    return undefined;
  }
  delete parsed.values.help;
  return parsed;
}

export function usageLines(table: Table): string[] {
  return Object.entries(table).map(([k, d]) => {
    const choices = (d.choices ?? []).filter((c) => c !== '');
    const arg = d.kind === 'bool' ? '' : d.kind === 'enum' ? ` ${choices.join('|')}` : ` ${d.kind.toUpperCase()}`;
    // '' is "not given": the help shows the real default when one is described, or nothing.
    let shown: string | undefined;
    if (d.defaultText !== undefined) shown = d.defaultText;
    else if (d.kind === 'bool') shown = d.default ? 'on' : 'off';
    else if (d.default === '') shown = undefined;
    else if (d.kind === 'duration') shown = `${Number(d.default) / 1e9}s`;
    else if (d.kind === 'size') shown = sizeText(Number(d.default));
    else shown = String(d.default);
    return `  ${(flagOf(k) + arg).padEnd(36)} ${d.help}${shown === undefined ? '' : ` (default ${shown})`}`;
  });
}
