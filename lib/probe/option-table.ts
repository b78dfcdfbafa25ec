// The option tables come from the core (native/core/option_table.h): name, kind, choices, bounds,
// help and default are declared once, in C++, and read here through the addon, so the CLI, the
// validation and the probe's flags cannot drift from what the probe does.
import { native } from './native';
import type { OptionDef } from './option-types';

interface CoreRow {
  name: string;
  kind: OptionDef<unknown>['kind'];
  choices: string;
  help: string;
  default: unknown;
  min?: number;
  max?: number;
  identity: boolean;
  /** "tcp_stream=128k|udp_stream=1472": the row's defaults by result kind. */
  by_kind?: string;
}

/** The core's table of block or network options, typed by the caller's options interface. */
export function coreOptionTable<T>(which: 'block' | 'net'): { [K in keyof T]-?: OptionDef<T[K]> } {
  const out: Record<string, OptionDef<unknown>> = {};
  for (const r of JSON.parse(native().optionTable(which)) as CoreRow[]) {
    const byKind = r.by_kind ? Object.fromEntries(r.by_kind.split('|').map((p) => p.split('=', 2) as [string, string])) : undefined;
    out[r.name] = {
      kind: r.kind,
      default: r.default,
      help: byKind ? `${r.help}; by kind: ${Object.entries(byKind).map(([k, v]) => `${k} ${v}`).join(', ')}` : r.help,
      ...(r.choices ? { choices: r.choices.split('|') } : {}),
      ...(r.min !== undefined ? { min: r.min } : {}),
      ...(r.max !== undefined ? { max: r.max } : {}),
      identity: r.identity,
      ...(byKind ? { byKind } : {}),
    };
  }
  return out as { [K in keyof T]-?: OptionDef<T[K]> };
}

/**
 * The options that make a workload what it is, from both core tables: a block and a net result
 * that differ in one of them are different workloads (two results of one kind share a table).
 */
export function identityOptions(): string[] {
  const names = new Set<string>();
  for (const which of ['block', 'net'] as const) {
    for (const r of JSON.parse(native().optionTable(which)) as CoreRow[]) if (r.identity) names.add(r.name);
  }
  return [...names];
}
