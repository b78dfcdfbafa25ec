// Every target isoprobe knows, one entry each: its name, kind, what it is, how to make it and how
// to find what its sessions leave behind. The CLI's choices, `isoprobe targets`, the leftover scan
// and availability all read this table; adding a runtime or a VMM is one file and one entry here.
import { CONTAINERD_DECLARED, ContainerdTarget, KATA_V2, RUNC_V2 } from './containerd';
import { ENGINE_DECLARED, EngineTarget } from './engine';
import { exec, outputLines, runtimeTimeoutMs } from './exec';
import { HOST_DECLARED, HostTarget } from './host';
import { CTR_NAMESPACE } from './image-load';
import { OCI_DECLARED, OciRuntimeTarget } from './oci-runtime';
import { CLOUD_HYPERVISOR_VMM } from './cloud-hypervisor';
import { FIRECRACKER } from './firecracker';
import { QEMU_MICROVM } from './qemu';
import { QEMU_VIRT } from './qemu-virt';
import { resolveArch } from './arch';
import { workDirPrefix } from './session';
import type { ProcessNames, ThreadNames } from '../cost/roles';
import { checkSpec, type Setting, type Settings, type TargetDeclaration, type TargetSettings } from './settings';
import type { SessionSpec, Target, TargetKind } from './types';
import { type Vmm, VmTarget } from './vm';
// The Debian packages of each target: a data file, so that scripts/setup.sh reads the same list
// before anything is built.
import PACKAGES from './packages.json';

export interface TargetEntry extends TargetSettings {
  kind: TargetKind;
  description: string;
  /** The names that give its threads (a VMM) or its processes (a container runtime) their roles in the host-cost accounting. */
  roles: { threads?: ThreadNames; processes?: ProcessNames };
  /** The Debian packages the target needs on this machine (none: nothing beyond isoprobe's build, or not packaged). */
  packages: readonly string[];
  make(): Target;
  /** Containers of this target that still exist (for the leftover scan), as "target:name". */
  containers?: () => Promise<string[]>;
  /** Removes one of them, by its name (the sweep of what a killed run left). */
  removeContainer?: (name: string) => Promise<void>;
}

type Remover = (name: string) => Promise<void>;
const quietly = async (argvs: string[][]) => {
  for (const argv of argvs) await exec(argv, { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
};
/** An OCI runtime's container: killed and deleted through the runtime's state root. */
const ociRemover = (rt: string): Remover => (id) => quietly([[rt, '--root', `/run/isoprobe/${rt}`, 'kill', id, 'KILL'], [rt, '--root', `/run/isoprobe/${rt}`, 'delete', '--force', id]]);
/** gVisor's control socket lives in the sandbox's network namespace: its commands run there (the sandbox's pid from its state). */
const runscRemover: Remover = async (id) => {
  const g = ['--root', '/run/isoprobe/runsc'];
  const st = await exec(['runsc', ...g, 'state', id], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
  const pid = Number((/"pid":\s*(\d+)/.exec(st?.stdout ?? '') ?? [])[1]);
  const ns = pid > 0 ? ['nsenter', '-t', String(pid), '-n'] : [];
  await quietly([[...ns, 'runsc', ...g, 'kill', id, 'KILL'], [...ns, 'runsc', ...g, 'delete', '--force', id], ['runsc', ...g, 'delete', '--force', id]]);
};
const engineRemover = (engine: 'docker' | 'podman'): Remover => (name) => quietly([[engine, 'rm', '-f', name]]);
const ctrRemover: Remover = (id) => {
  const ctr = ['ctr', '-n', CTR_NAMESPACE];
  return quietly([[...ctr, 'task', 'kill', '-s', 'SIGKILL', id], [...ctr, 'task', 'delete', '--force', id], [...ctr, 'container', 'delete', id]]);
};

const listed = (target: string, argv: string[]) => async () => (await outputLines(argv)).map((c) => `${target}:${c}`);

/** Containers of any isoprobe-probe image whose name is not one of ours (unnamed ones included). */
const probeImageContainers = (engine: 'docker' | 'podman') => async () =>
  (await outputLines([engine, 'ps', '-a', '--format', '{{.Names}} {{.Image}}']))
    .map((l) => l.split(' '))
    .filter(([name, image]) => /(^|\/)isoprobe-probe:/.test(image ?? '') && !name!.startsWith('iso-'))
    .map(([name]) => `${engine}:${name}`);

const engineContainers = (engine: 'docker' | 'podman') => async () => [
  ...(await listed(engine, [engine, 'ps', '-a', '--filter', 'name=iso-', '--format', '{{.Names}}'])()),
  ...(await probeImageContainers(engine)()),
];

type PackagedName = Exclude<keyof typeof PACKAGES, '//'>;

/** An entry from what the target's own file declares (its target is made with that description). */
function entry(name: PackagedName, kind: TargetKind, declared: TargetDeclaration, make: (description: string) => Target, containers?: () => Promise<string[]>, removeContainer?: Remover): TargetEntry {
  const { processes, description, ...settings } = declared;
  return { kind, description, ...settings, roles: processes ? { processes } : {}, packages: PACKAGES[name], make: () => make(description), ...(containers ? { containers } : {}), ...(removeContainer ? { removeContainer } : {}) };
}

/** A microVM's entry: everything but its packages comes from its VMM's own file. */
function vmEntry(name: PackagedName, vmm: Vmm): TargetEntry {
  return { kind: 'vm', description: vmm.description, roles: { threads: vmm.threads }, settings: vmm.settings, ...(vmm.refuses ? { refuses: vmm.refuses } : {}), ...(vmm.check ? { check: vmm.check.bind(vmm) } : {}),
    packages: PACKAGES[name], make: () => new VmTarget(vmm) };
}

export const REGISTRY = {
  host: entry('host', 'host', HOST_DECLARED, () => new HostTarget()),
  runc: entry('runc', 'container', OCI_DECLARED.runc, (d) => new OciRuntimeTarget('runc', d), listed('runc', ['runc', '--root', '/run/isoprobe/runc', 'list', '-q']), ociRemover('runc')),
  runsc: entry('runsc', 'container', OCI_DECLARED.runsc, (d) => new OciRuntimeTarget('runsc', d), listed('runsc', ['runsc', '--root', '/run/isoprobe/runsc', 'list', '-q']), runscRemover),
  crun: entry('crun', 'container', OCI_DECLARED.crun, (d) => new OciRuntimeTarget('crun', d), listed('crun', ['crun', '--root', '/run/isoprobe/crun', 'list', '-q']), ociRemover('crun')),
  docker: entry('docker', 'container', ENGINE_DECLARED.docker, (d) => new EngineTarget('docker', d), engineContainers('docker'), engineRemover('docker')),
  podman: entry('podman', 'container', ENGINE_DECLARED.podman, (d) => new EngineTarget('podman', d), engineContainers('podman'), engineRemover('podman')),
  containerd: entry('containerd', 'container', CONTAINERD_DECLARED.containerd, (d) => new ContainerdTarget('containerd', d, RUNC_V2), listed('containerd', ['ctr', '--connect-timeout', '2s', '-n', CTR_NAMESPACE, 'containers', 'ls', '-q']), ctrRemover),
  kata: entry('kata', 'container', CONTAINERD_DECLARED.kata, (d) => new ContainerdTarget('kata', d, KATA_V2)),
  'qemu-microvm': vmEntry('qemu-microvm', QEMU_MICROVM),
  'qemu-virt': vmEntry('qemu-virt', QEMU_VIRT),
  firecracker: vmEntry('firecracker', FIRECRACKER),
  'cloud-hypervisor': vmEntry('cloud-hypervisor', CLOUD_HYPERVISOR_VMM),
} satisfies Record<string, TargetEntry>;

export type TargetName = keyof typeof REGISTRY;
export const TARGET_NAMES = Object.keys(REGISTRY) as TargetName[];

export function isTargetName(s: string): s is TargetName {
  return Object.prototype.hasOwnProperty.call(REGISTRY, s);
}

/** Every setting some target takes, by name (the first declaration: for its session field). */
export function knownSettings(): Settings {
  const all: Record<string, Setting> = {};
  for (const t of TARGET_NAMES) for (const [k, s] of Object.entries(REGISTRY[t].settings)) all[k] ??= s;
  return all;
}

/**
 * A session's values (flags and a variant's settings together) checked against what the target
 * declares, before its session starts: a value it cannot honour is refused with the target, the
 * key, the value and what it accepts.
 */
export function checkTargetSpec(target: TargetName, spec: SessionSpec, where = ''): void {
  checkSpec(target, REGISTRY[target], spec, knownSettings(), where ? `${where}: ` : '');
}

export function makeTarget(name: TargetName): Target {
  const e = REGISTRY[name] as TargetEntry;
  const t = e.make();
  // The settings and --arch are checked before anything starts: another architecture's probe, or why not.
  const start = t.start.bind(t);
  t.start = (spec = {}) => Promise.resolve().then(() => {
    checkTargetSpec(name, spec);
    return start(resolveArch(name, e.kind, spec));
  });
  return t;
}

/**
 * The work-folder prefixes of everything isoprobe makes under the temporary directory: each
 * target's own (what its sessions pass to tempWorkDir), plus the shared ones (availability
 * checks, image builds, containerd's bundles).
 */
export function workFolderPrefixes(): string[] {
  return [...TARGET_NAMES.map(workDirPrefix), 'isoprobe-avail-', 'isoprobe-image-', 'isoprobe-ctr-', 'isoprobe-fleet-'];
}
