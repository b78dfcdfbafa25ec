// Every target isoprobe knows, one entry each: its name, kind, what it is, how to make it and how
// to find what its sessions leave behind. The CLI's choices, `isoprobe targets`, the leftover scan
// and availability all read this table; adding a runtime or a VMM is one file and one entry here.
import { ContainerdTarget, KATA_V2, RUNC_V2 } from './containerd';
import { EngineTarget } from './engine';
import { exec, outputLines, runtimeTimeoutMs } from './exec';
import { HostTarget } from './host';
import { CTR_NAMESPACE } from './image-load';
import { OciRuntimeTarget } from './oci-runtime';
import { cloudHypervisorTarget } from './cloud-hypervisor';
import { firecrackerTarget } from './firecracker';
import { qemuMicrovmTarget } from './qemu';
import { qemuVirtTarget } from './qemu-virt';
import { resolveArch } from './arch';
import { workDirPrefix } from './session';
import type { Target, TargetKind } from './types';
// The Debian packages of each target: a data file, so that scripts/setup.sh reads the same list
// before anything is built.
import PACKAGES from './packages.json';

export interface TargetEntry {
  kind: TargetKind;
  description: string;
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

/** An entry whose target is made with the entry's own description (one source for both). */
function entry(name: PackagedName, kind: TargetKind, description: string, make: (description: string) => Target, containers?: () => Promise<string[]>, removeContainer?: Remover): TargetEntry {
  return { kind, description, packages: PACKAGES[name], make: () => make(description), ...(containers ? { containers } : {}), ...(removeContainer ? { removeContainer } : {}) };
}

export const REGISTRY = {
  host: entry('host', 'host', 'the static probe directly on this machine', () => new HostTarget()),
  runc: entry('runc', 'container', 'runc with an OCI bundle', (d) => new OciRuntimeTarget('runc', d), listed('runc', ['runc', '--root', '/run/isoprobe/runc', 'list', '-q']), ociRemover('runc')),
  runsc: entry('runsc', 'container', 'gVisor (runsc) with an OCI bundle', (d) => new OciRuntimeTarget('runsc', d), listed('runsc', ['runsc', '--root', '/run/isoprobe/runsc', 'list', '-q']), runscRemover),
  crun: entry('crun', 'container', 'crun with an OCI bundle', (d) => new OciRuntimeTarget('crun', d), listed('crun', ['crun', '--root', '/run/isoprobe/crun', 'list', '-q']), ociRemover('crun')),
  docker: entry('docker', 'container', 'Docker engine (runtime selectable: runc, runsc)', (d) => new EngineTarget('docker', d), engineContainers('docker'), engineRemover('docker')),
  podman: entry('podman', 'container', 'Podman (runtime selectable)', (d) => new EngineTarget('podman', d), engineContainers('podman'), engineRemover('podman')),
  containerd: entry('containerd', 'container', `containerd via ctr, runtime ${RUNC_V2}`, (d) => new ContainerdTarget('containerd', d, RUNC_V2), listed('containerd', ['ctr', '--connect-timeout', '2s', '-n', CTR_NAMESPACE, 'containers', 'ls', '-q']), ctrRemover),
  kata: entry('kata', 'container', `Kata Containers via containerd, runtime ${KATA_V2}`, (d) => new ContainerdTarget('kata', d, KATA_V2)),
  'qemu-microvm': entry('qemu-microvm', 'vm', 'QEMU -M microvm (KVM, or TCG emulation labelled as such)', qemuMicrovmTarget),
  'qemu-virt': entry('qemu-virt', 'vm', 'QEMU -M virt: arm64 guests (TCG on x86-64, labelled emulated; KVM on an arm64 host)', qemuVirtTarget),
  firecracker: entry('firecracker', 'vm', 'Firecracker (HTTP API on a Unix socket; needs KVM)', firecrackerTarget),
  'cloud-hypervisor': entry('cloud-hypervisor', 'vm', 'Cloud Hypervisor (command line; virtio over PCI; needs KVM)', cloudHypervisorTarget),
} satisfies Record<string, TargetEntry>;

export type TargetName = keyof typeof REGISTRY;
export const TARGET_NAMES = Object.keys(REGISTRY) as TargetName[];

export function isTargetName(s: string): s is TargetName {
  return Object.prototype.hasOwnProperty.call(REGISTRY, s);
}

export function makeTarget(name: TargetName): Target {
  const e = REGISTRY[name] as TargetEntry;
  const t = e.make();
  // --arch is resolved before anything starts: another architecture's probe, or why not.
  const start = t.start.bind(t);
  t.start = (spec = {}) => Promise.resolve().then(() => start(resolveArch(name, e.kind, spec)));
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
