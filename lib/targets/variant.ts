// Target variants: a registry target with settings, written "qemu-microvm[kernel=6.12,aio=threads]"
// anywhere a target is accepted, or named in a targets file (--targets @FILE). A variant's label
// is what every table, store row, report and verdict shows; its settings become the session's
// spec. Unknown keys and bad values are refused before anything runs.
import { readFileSync } from 'node:fs';

import { IsoprobeError, optionError } from '../errors';
import { coerce, type OptionDef, suggest } from '../probe/options';
import { parseYamlFile } from '../yaml-file';
import { isTargetName, REGISTRY, TARGET_NAMES, type TargetName } from './registry';
import type { TargetKind } from './types';
import type { SessionSpec } from './types';

export interface Variant {
  /** What tables, the store and verdicts show: the given name, or the canonical "target[k=v,...]". */
  label: string;
  target: TargetName;
  settings: Record<string, string>;
  spec: Partial<SessionSpec>;
}

interface Setting {
  def: OptionDef<unknown>;
  /** Which targets take it: kinds, or names. */
  for: (TargetKind | TargetName)[];
  apply: (spec: Partial<SessionSpec>, v: unknown) => void;
}

const SETTINGS: Record<string, Setting> = {
  kernel: { def: { kind: 'string', default: '', help: 'guest kernel: 6.1, 6.12, cloud or a file' }, for: ['vm'], apply: (s, v) => (s.kernel = v as string) },
  aio: { def: { kind: 'enum', default: '', choices: ['threads', 'native', 'io_uring', 'Sync', 'Async'], help: 'QEMU aio= or Firecracker io_engine' }, for: ['vm'], apply: (s, v) => (s.aio = v as SessionSpec['aio']) },
  cache: { def: { kind: 'enum', default: '', choices: ['none', 'writeback', 'unsafe'], help: 'host cache of the data disk' }, for: ['vm'], apply: (s, v) => (s.hostCache = v as SessionSpec['hostCache']) },
  vcpus: { def: { kind: 'uint', default: 2, min: 1, max: 64, help: 'vCPUs' }, for: ['vm'], apply: (s, v) => (s.vcpus = v as number) },
  queues: { def: { kind: 'uint', default: 1, min: 1, max: 16, help: 'queues per virtio device (virtio-blk num-queues, virtio-net queue pairs)' }, for: ['vm'], apply: (s, v) => (s.queues = v as number) },
  vhost: { def: { kind: 'enum', default: '', choices: ['on', 'off'], help: 'QEMU vhost-net for the tap' }, for: ['qemu-microvm', 'qemu-virt'], apply: (s, v) => (s.vhost = v as SessionSpec['vhost']) },
  iothread: { def: { kind: 'enum', default: '', choices: ['on', 'off'], help: 'QEMU: the data disk on its own iothread' }, for: ['qemu-microvm', 'qemu-virt'], apply: (s, v) => (s.iothread = v === 'on') },
  pin: { def: { kind: 'enum', default: '', choices: ['on', 'off'], help: "pin vCPU i to host CPU i and the VMM's other threads to the CPUs after them" }, for: ['vm'], apply: (s, v) => (s.pin = v === 'on') },
  mem: { def: { kind: 'size', default: 0, min: 64 * 2 ** 20, help: 'guest memory' }, for: ['vm'], apply: (s, v) => (s.memMiB = Math.floor((v as number) / 2 ** 20)) },
  accel: { def: { kind: 'enum', default: '', choices: ['auto', 'kvm', 'tcg'], help: 'QEMU accelerator' }, for: ['qemu-microvm', 'qemu-virt'], apply: (s, v) => (s.accel = v as SessionSpec['accel']) },
  qemu: { def: { kind: 'string', default: '', help: 'the QEMU binary' }, for: ['qemu-microvm', 'qemu-virt'], apply: (s, v) => (s.vmmBinary = v as string) },
  transport: { def: { kind: 'enum', default: '', choices: ['mmio', 'pci'], help: 'virtio transport shown to the guest' }, for: ['qemu-microvm', 'qemu-virt'], apply: (s, v) => (s.transport = v as SessionSpec['transport']) },
  runtime: { def: { kind: 'string', default: '', help: 'the engine\'s runtime, e.g. runsc' }, for: ['docker', 'podman', 'containerd'], apply: (s, v) => (s.runtime = v as string) },
  seccomp: { def: { kind: 'string', default: '', help: 'default, unconfined or a profile file' }, for: ['container'], apply: (s, v) => (s.seccomp = v as string) },
  storage: { def: { kind: 'enum', default: '', choices: ['bind', 'device'], help: 'bind mount or loop device' }, for: ['container'], apply: (s, v) => (s.storage = v as SessionSpec['storage']) },
  probe: { def: { kind: 'string', default: '', help: 'the static probe to place' }, for: ['host', 'container', 'vm'], apply: (s, v) => (s.probe = v as string) },
  // A planted change of known size, for detection-power checks (bench/detect-power.ts): client-inside RR only.
  service: { def: { kind: 'duration', default: 0, help: 'for power checks: the echo server isoprobe starts spends this long before every reply (client-inside RR)' }, for: ['host', 'runc', 'crun', 'runsc'], apply: (s, v) => (s.echoService = v as number) },
};

/** The setting keys a target takes. */
export function settingKeys(target: TargetName): string[] {
  const kind = REGISTRY[target].kind;
  return Object.entries(SETTINGS).filter(([, s]) => s.for.includes(kind) || s.for.includes(target)).map(([k]) => k);
}

/** A variant from its settings; `where` prefixes every error (the option, or the file and line). */
export function makeVariant(target: string, settings: Record<string, unknown>, where: string, label?: string): Variant {
  if (!isTargetName(target)) throw new IsoprobeError('EINVALOPT', `${where}: unknown target "${target}"; expected one of ${TARGET_NAMES.join(', ')}`, { option: 'targets' });
  const keys = settingKeys(target);
  const spec: Partial<SessionSpec> = {};
  const text: Record<string, string> = {};
  for (const [k, raw] of Object.entries(settings)) {
    if (!keys.includes(k)) {
      const s = suggest(k, keys);
      throw new IsoprobeError('EINVALOPT', `${where}: ${target} has no setting "${k}"${s ? ` (did you mean "${s}"?)` : ''}; expected one of ${keys.join(', ')}`, { option: 'targets' });
    }
    const s = SETTINGS[k]!;
    let v: unknown;
    try {
      v = coerce(k, s.def, typeof raw === 'number' || typeof raw === 'boolean' ? raw : String(raw));
    } catch (e) {
      throw new IsoprobeError('EINVALOPT', `${where}: ${target}[${k}=${String(raw)}]: ${(e as Error).message.replace(/^--[\w-]+ "?[^":]*"?: /, '')}`, { option: 'targets' });
    }
    s.apply(spec, v);
    text[k] = String(raw);
  }
  const canonical = Object.keys(text).length ? `${target}[${Object.keys(text).sort().map((k) => `${k}=${text[k]}`).join(',')}]` : target;
  return { label: label ?? canonical, target, settings: text, spec };
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
