// What a target can be set to, declared once in the target's own file: name, type, default, help
// and the session field it sets. The variant keys (qemu-microvm[aio=threads]), the session flags of
// run/compare/ab/sweep/fleet (--aio) and `isoprobe targets --help` are derived from these
// declarations (variant.ts), and a value a target cannot honour is refused before any session.
import { IsoprobeError } from '../errors';
import { coerce, type OptionDef, suggest } from '../probe/options';
import type { ProcessNames } from '../cost/roles';
import { RELAY_CONTRACT } from './relay';
import type { SessionSpec } from './types';

export interface Setting {
  /** Type, default, choices or bounds, help: what this target accepts. */
  def: OptionDef<unknown>;
  /** The session field it sets. */
  field: keyof SessionSpec;
  /** The session's form of a value (default: the value itself), and back, for a value a flag set. */
  toSpec?: (v: unknown) => unknown;
  fromSpec?: (x: unknown) => unknown;
  /** Also a flag of the session commands (--name), applied to each target of the run that takes it. */
  flag?: boolean;
}

/** A target's settings by name (the variant key; the flag is --name with - for _). */
export type Settings = Readonly<Record<string, Setting>>;

/** Why a target refuses a setting other targets take (said when it is asked for). */
export type Refusals = Readonly<Record<string, string>>;

/** What a target declares about its settings: each one, the ones it refuses and why, and the
 * combinations it cannot honour (a sentence, or undefined when the session's values are fine). */
export interface TargetSettings {
  readonly settings: Settings;
  readonly refuses?: Refusals;
  check?(spec: SessionSpec): string | undefined;
}

/** What a target's own file says of it, once: what it is, its settings, the names of its
 * processes with cost roles of their own (a VMM states its thread names on its Vmm). */
export interface TargetDeclaration extends TargetSettings {
  readonly description: string;
  readonly processes?: ProcessNames;
}

/** A setting with another help, default or choices for one target (the rest as declared). */
export function narrowed(s: Setting, def: Partial<OptionDef<unknown>>): Setting {
  return { ...s, def: { ...s.def, ...def } };
}

/** on|off in a variant, a boolean in the session. */
export function onOff(field: keyof SessionSpec, help: string): Setting {
  return { def: { kind: 'enum', default: 'off', choices: ['on', 'off'], help }, field, toSpec: (v) => v === 'on', fromSpec: (x) => (x ? 'on' : 'off') };
}

const MiB = 2 ** 20;

/** Every target takes another static probe to place, and another data file than the session's
 * (--data-file): two sides of one comparison on two disks or devices, e.g. bench/detect-power.ts's
 * two loop devices, one of them slowed by a known time. */
export const PROBE_SETTINGS: Settings = {
  probe: { def: { kind: 'string', default: '', help: 'the static probe to place (its hash goes into every result)', defaultText: 'the one this package built' }, field: 'probe' },
  data_file: { def: { kind: 'string', default: '', help: "host file or block device behind block workloads, for this target only (created when missing)", defaultText: 'the session\'s --data-file' }, field: 'dataFile' },
};

/** A planted change of known size for detection-power checks (bench/detect-power.ts): the echo
 * server isoprobe starts for client-inside RR spends this long before every reply. */
export const ECHO_SERVICE_SETTING: Settings = {
  service: { def: { kind: 'duration', default: 0, help: 'for power checks: the echo server isoprobe starts spends this long before every reply (client-inside RR)' }, field: 'echoService' },
};

/** A relay of the user's between the client inside a target and the echo server isoprobe starts
 * on the host side (lib/targets/relay.ts): what a host-side proxy adds, and where the split puts it. */
export const RELAY_SETTING: Settings = {
  relay: { def: { kind: 'string', default: '', help: `client-inside RR: an executable isoprobe starts between the client and its echo server (a proxy to measure; ${RELAY_CONTRACT}); its time is in the split's host path`, defaultText: 'none' }, field: 'relay' },
};

/** What every container target takes: the probe, its seccomp profile, how the data file gets in. */
export const CONTAINER_SETTINGS: Settings = {
  ...PROBE_SETTINGS,
  seccomp: { def: { kind: 'string', default: 'default', help: 'default, unconfined, or a Docker-format seccomp profile file', defaultText: "default: the runtime's own; for runc, crun and runsc the system's containers default /usr/share/containers/seccomp.json" }, field: 'seccomp', flag: true },
  storage: { def: { kind: 'enum', default: 'bind', choices: ['bind', 'device'], help: 'block workloads: bind-mounted file, or a loop device (direct I/O) on it' }, field: 'storage', flag: true },
};

/** A container engine whose runtime is chosen (docker, podman, containerd's ctr). */
export const RUNTIME_SETTING: Settings = {
  runtime: { def: { kind: 'string', default: '', help: "the engine's runtime, e.g. runsc for gVisor", defaultText: "the engine's own" }, field: 'runtime', flag: true },
};

/** What every microVM takes: kernel, vCPUs, memory, pinning (each VMM adds its own). */
export const VM_SETTINGS: Settings = {
  ...PROBE_SETTINGS,
  kernel: { def: { kind: 'string', default: '', help: "guest kernel: 6.1 or 6.12 (built here from Debian's linux-source, cached), cloud (Debian's cloud kernel), or a bzImage/vmlinux/Image file", defaultText: 'cloud' }, field: 'kernel', flag: true },
  vcpus: { def: { kind: 'uint', default: 2, min: 1, max: 64, help: 'vCPUs' }, field: 'vcpus', flag: true },
  mem: { def: { kind: 'size', default: 512 * MiB, min: 64 * MiB, help: 'guest memory' }, field: 'memMiB', toSpec: (v) => Math.floor((v as number) / MiB), fromSpec: (x) => (x as number) * MiB, flag: true },
  pin: onOff('pin', "pin vCPU i to host CPU i and the VMM's other threads to the CPUs after them"),
};

/** The value a session uses when none was set: the declared default, in the session's form. */
export function settingDefault<T>(settings: Settings, key: string): T {
  const s = settings[key];
  if (!s) throw new Error(`no setting "${key}" declared`);
  return (s.toSpec ? s.toSpec(s.def.default) : s.def.default) as T;
}

/** The error of a setting a target cannot honour (the option of every variant error). */
function refused(where: string, message: string): IsoprobeError {
  return new IsoprobeError('EINVALOPT', `${where}${message}`, { option: 'targets' });
}

/** The names a target takes, for "expected one of". */
function keysText(settings: Settings): string {
  return Object.keys(settings).join(', ');
}

/**
 * One setting's value for a target, in the session's form; refused with the target, the key, the
 * value and what the target accepts. `where` prefixes the error (the option, or file and line).
 */
export function settingValue(target: string, declared: TargetSettings, key: string, raw: unknown, where = ''): unknown {
  const s = declared.settings[key];
  const shown = `${target}[${key}=${String(raw)}]`;
  if (!s) {
    const why = declared.refuses?.[key];
    if (why) throw refused(where, `${shown}: ${why}; ${target} takes ${keysText(declared.settings)}`);
    if (key === 'cache' && declared.settings.host_cache)
      throw refused(where, `${shown}: "cache" is now "host_cache", one name for the variant key and the --host-cache flag; write ${target}[host_cache=${String(raw)}]`);
    const near = suggest(key, Object.keys(declared.settings));
    throw refused(where, `${target} has no setting "${key}"${near ? ` (did you mean "${near}"?)` : ''}; expected one of ${keysText(declared.settings)}`);
  }
  let v: unknown;
  try {
    v = coerce(key, s.def, typeof raw === 'number' || typeof raw === 'boolean' ? raw : String(raw));
  } catch (e) {
    // coerce's own "--key "value": " prefix gives way to the target's form of the setting.
    throw refused(where, `${shown}: ${(e as Error).message.replace(/^--[\w-]+ "?[^":]*"?: /, '')} (${key}: ${s.def.help})`);
  }
  return s.toSpec ? s.toSpec(v) : v;
}

/**
 * A session's values checked against what a target declares, before its session starts: each
 * value of a setting it takes within its choices and bounds, none of the settings it refuses, no
 * combination it cannot run. `known` gives the session field of every setting any target takes.
 */
export function checkSpec(target: string, declared: TargetSettings, spec: SessionSpec, known: Settings, where = ''): void {
  for (const [key, s] of Object.entries(declared.settings)) {
    const x = spec[s.field];
    if (x !== undefined) settingValue(target, declared, key, s.fromSpec ? s.fromSpec(x) : x, where);
  }
  for (const key of Object.keys(declared.refuses ?? {})) {
    // A refused key's session field: as another target declares it, else of the key's own name.
    const other = known[key];
    const x = spec[other?.field ?? (key as keyof SessionSpec)];
    if (x !== undefined) settingValue(target, declared, key, other?.fromSpec ? other.fromSpec(x) : x, where);
  }
  const bad = declared.check?.(spec);
  if (bad) throw refused(where, `${target}: ${bad}`);
}
