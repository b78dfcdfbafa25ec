// Target variants: a registry target with settings, written "qemu-microvm[kernel=6.12,aio=threads]"
// anywhere a target is accepted, or named in a targets file (--targets @FILE). A variant's label
// is what every table, store row, report and verdict shows; its settings become the session's
// spec. Unknown keys and bad values are refused before anything runs.
import { readFileSync } from 'node:fs';

import { IsoprobeError, optionError } from '../errors';
import { flagOf, type OptionDef } from '../probe/options';
import { parseYamlFile } from '../yaml-file';
import { checkTargetSpec, isTargetName, knownSettings, REGISTRY, TARGET_NAMES, type TargetEntry, type TargetName } from './registry';
import { type Setting, settingValue } from './settings';

export { checkTargetSpec };
import type { SessionSpec } from './types';

export interface Variant {
  /** What tables, the store and verdicts show: the given name, or the canonical "target[k=v,...]". */
  label: string;
  target: TargetName;
  settings: Record<string, string>;
  spec: Partial<SessionSpec>;
}

const entryOf = (target: TargetName): TargetEntry => REGISTRY[target];

/** The setting keys a target takes: its own declaration's. */
export function settingKeys(target: TargetName): string[] {
  return Object.keys(entryOf(target).settings);
}


/** A variant from its settings; `where` prefixes every error (the option, or the file and line). */
export function makeVariant(target: string, settings: Record<string, unknown>, where: string, label?: string): Variant {
  if (!isTargetName(target)) throw new IsoprobeError('EINVALOPT', `${where}: unknown target "${target}"; expected one of ${TARGET_NAMES.join(', ')}`, { option: 'targets' });
  const declared = entryOf(target);
  const spec: Record<string, unknown> = {};
  const text: Record<string, string> = {};
  for (const [k, raw] of Object.entries(settings)) {
    spec[declared.settings[k]?.field ?? k] = settingValue(target, declared, k, raw, `${where}: `);
    text[k] = String(raw);
  }
  const bad = declared.check?.(spec as SessionSpec);
  if (bad) throw new IsoprobeError('EINVALOPT', `${where}: ${target}: ${bad}`, { option: 'targets' });
  const canonical = Object.keys(text).length ? `${target}[${Object.keys(text).sort().map((k) => `${k}=${text[k]}`).join(',')}]` : target;
  return { label: label ?? canonical, target, settings: text, spec: spec as Partial<SessionSpec> };
}

/** The targets that take a setting, grouped by what each accepts (targets declaring it alike share a line). */
function takers(key: string): { targets: TargetName[]; s: Setting }[] {
  const groups = new Map<string, { targets: TargetName[]; s: Setting }>();
  for (const t of TARGET_NAMES) {
    const s = entryOf(t).settings[key];
    if (!s) continue;
    const id = JSON.stringify(s.def);
    const g = groups.get(id) ?? { targets: [], s };
    g.targets.push(t);
    groups.set(id, g);
  }
  return [...groups.values()];
}

/** Who takes a setting, in words: "microVMs" when all of a kind do, else their names. */
function whoText(targets: TargetName[]): string {
  const kinds = new Set(targets.map((t) => entryOf(t).kind));
  if (kinds.size === 1) {
    const kind = [...kinds][0]!;
    const all = TARGET_NAMES.filter((t) => entryOf(t).kind === kind);
    if (all.every((t) => targets.includes(t))) return kind === 'vm' ? 'microVMs' : kind === 'container' ? 'containers' : 'the host';
  }
  return targets.join(', ');
}

function acceptsText(def: OptionDef<unknown>, withChoices = true): string {
  const choices = withChoices ? (def.choices ?? []).filter((c) => c !== '') : [];
  const dflt = def.defaultText ?? (def.default === '' ? undefined : def.kind === 'size' ? `${Number(def.default) / 2 ** 20}M` : String(def.default));
  const size = (n: number) => `${n / 2 ** 20}M`;
  const range = def.kind === 'size' ? (def.min !== undefined ? `at least ${size(def.min)}` : '') : def.min !== undefined || def.max !== undefined ? `${def.min ?? 0}..${def.max ?? ''}` : '';
  return [choices.length ? choices.join('|') : range, dflt ? `default ${dflt}` : ''].filter(Boolean).join(', ');
}

/**
 * The session flags derived from the targets' declarations (those marked flag): one per setting,
 * its choices and bounds the union of what its targets accept (each target then checks its own),
 * its help saying who takes it and what each accepts.
 */
export function sessionFlags(): Record<string, OptionDef<unknown>> {
  const out: Record<string, OptionDef<unknown>> = {};
  for (const key of Object.keys(knownSettings())) {
    const groups = takers(key).filter((g) => g.s.flag);
    if (!groups.length) continue;
    const defs = groups.map((g) => g.s.def);
    const choices = [...new Set(defs.flatMap((d) => d.choices ?? []))];
    const mins = defs.map((d) => d.min).filter((m): m is number => m !== undefined);
    const maxes = defs.map((d) => d.max).filter((m): m is number => m !== undefined);
    const one = groups.length === 1 ? groups[0]! : undefined;
    const help = one ? `${whoText(one.targets)}: ${one.s.def.help}`
      : `${groups.map((g) => `${whoText(g.targets)}: ${g.s.def.help} (${acceptsText(g.s.def)})`).join('; ')}`;
    out[key] = {
      kind: defs[0]!.kind, help,
      default: one ? one.s.def.default : defs[0]!.kind === 'enum' || defs[0]!.kind === 'string' ? '' : defs[0]!.default,
      ...(one?.s.def.defaultText !== undefined ? { defaultText: one.s.def.defaultText } : {}),
      ...(choices.length ? { choices: ['', ...choices] } : {}),
      ...(mins.length === defs.length ? { min: Math.min(...mins) } : {}),
      ...(maxes.length === defs.length ? { max: Math.max(...maxes) } : {}),
    };
  }
  return out;
}

/** The session spec of the flags a command was given (each as its setting applies it). */
export function specOfFlags(values: Record<string, unknown>): Partial<SessionSpec> {
  const known = knownSettings();
  const spec: Record<string, unknown> = {};
  for (const key of Object.keys(sessionFlags())) {
    const v = values[key];
    const s = known[key]!;
    if (v !== undefined && v !== '') spec[s.field] = s.toSpec ? s.toSpec(v) : v;
  }
  return spec as Partial<SessionSpec>;
}

/** `isoprobe targets --help`: each target's settings, as its file declares them. */
export function settingsHelp(): string[] {
  const lines = ['Settings: a target with settings is written target[key=value,...] wherever a target is accepted;', 'each target takes these (a flag applies to every target of the run that takes it):'];
  for (const t of TARGET_NAMES) {
    const e = entryOf(t);
    lines.push('', `${t}: ${e.description}`);
    for (const [k, s] of Object.entries(e.settings)) {
      const acc = acceptsText(s.def, false);
      const value = s.def.kind === 'enum' ? (s.def.choices ?? []).filter((c) => c !== '').join('|') : s.def.kind.toUpperCase();
      lines.push(`  ${`${k}=${value}`.padEnd(24)} ${s.def.help}${acc ? ` (${acc})` : ''}${s.flag ? `; also ${flagOf(k)}` : ''}`);
    }
    for (const [k, why] of Object.entries(e.refuses ?? {})) lines.push(`  ${`${k}: refused`.padEnd(24)} ${why}`);
  }
  return lines;
}

/** "name" or "name[k=v,k=v]". */
export function parseVariant(text: string, option = 'targets'): Variant {
  const flag = `--${option.replace(/_/g, '-')}`;
  const m = /^([a-z0-9-]+)(?:\[(.*)\])?$/.exec(text.trim());
  if (!m) throw optionError(option, `${flag} "${text}": expected a target, or a target with settings like qemu-microvm[kernel=6.12,aio=threads]`);
  const settings: Record<string, string> = {};
  for (const kv of (m[2] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw optionError(option, `${flag} "${text}": "${kv}" is not key=value`);
    const k = kv.slice(0, eq).trim();
    if (k in settings) throw optionError(option, `${flag} "${text}": "${k}" is given twice`);
    settings[k] = kv.slice(eq + 1).trim();
  }
  return makeVariant(m[1]!, settings, `${flag} "${text}"`);
}

/** A comma-separated list of variants (commas inside [...] belong to the settings), or @FILE. */
export function parseVariantList(text: string, option = 'targets'): Variant[] {
  if (text.startsWith('@')) return loadTargetsFile(text.slice(1));
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  const vs = parts.map((p) => p.trim()).filter(Boolean).map((p) => parseVariant(p, option));
  if (!vs.length) throw optionError(option, `--${option} "": expected a comma-separated list of targets`);
  return checkDistinct(vs, option);
}

function checkDistinct(vs: Variant[], option: string): Variant[] {
  const seen = new Set<string>();
  for (const v of vs) {
    if (seen.has(v.label)) throw optionError(option, `--${option}: "${v.label}" is named twice`);
    seen.add(v.label);
  }
  return vs;
}

/**
 * A targets file, YAML or JSON:
 *   targets:
 *     - name: kernel-6.1          # the label (optional)
 *       target: qemu-microvm
 *       settings: { kernel: "6.1", aio: io_uring }
 * Every error names the file, the line and the field.
 */
export function loadTargetsFile(path: string): Variant[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw optionError('targets', `--targets @${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); expected a YAML or JSON targets file`);
  }
  const { data: parsed, where } = parseYamlFile(text, `targets file ${path}`, 'targets');
  const data = parsed as { targets?: unknown } | null;
  if (!data || typeof data !== 'object' || !Array.isArray(data.targets) || !data.targets.length)
    throw optionError('targets', `${where(['targets'])}: expected a non-empty list "targets"`);
  for (const k of Object.keys(data)) if (k !== 'targets') throw optionError('targets', `${where([k])}: unknown field "${k}" (expected targets)`);
  const vs = data.targets.map((t: Record<string, unknown>, i: number) => {
    if (!t || typeof t !== 'object') throw optionError('targets', `${where(['targets', i])}: expected a mapping with target and settings`);
    for (const k of Object.keys(t)) if (!['name', 'target', 'settings'].includes(k)) throw optionError('targets', `${where(['targets', i, k])}: unknown field "${k}" (expected name, target, settings)`);
    if (typeof t.target !== 'string') throw optionError('targets', `${where(['targets', i, 'target'])}: expected a target name`);
    if (t.name !== undefined && (typeof t.name !== 'string' || !/^[A-Za-z0-9._\[\]=,-]{1,80}$/.test(t.name))) throw optionError('targets', `${where(['targets', i, 'name'])}: expected a label of letters, digits and . _ - (1-80)`);
    const settings = (t.settings ?? {}) as Record<string, unknown>;
    if (typeof settings !== 'object' || Array.isArray(settings)) throw optionError('targets', `${where(['targets', i, 'settings'])}: expected a mapping of setting: value`);
    // Each setting on its own first, so an error names the line of that setting.
    for (const k of Object.keys(settings)) makeVariant(t.target, { [k]: settings[k] }, where(['targets', i, 'settings', k]));
    return makeVariant(t.target, settings, where(['targets', i]), t.name as string | undefined);
  });
  return checkDistinct(vs, 'targets');
}
