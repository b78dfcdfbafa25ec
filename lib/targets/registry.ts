// Every target isoprobe knows, one entry each: its name, kind, what it is, how to make it and how
// to find what its sessions leave behind. The CLI's choices, `isoprobe targets`, the leftover scan
// and availability all read this table; adding a runtime or a VMM is one file and one entry here.
import { ContainerdTarget, KATA_V2, RUNC_V2 } from './containerd';
import { EngineTarget } from './engine';
import { outputLines } from './exec';
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

export interface TargetEntry {
  kind: TargetKind;
  description: string;
  make(): Target;
  /** Containers of this target that still exist (for the leftover scan), as "target:name". */
  containers?: () => Promise<string[]>;
}

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

/** An entry whose target is made with the entry's own description (one source for both). */
function entry(kind: TargetKind, description: string, make: (description: string) => Target, containers?: () => Promise<string[]>): TargetEntry {
  return { kind, description, make: () => make(description), ...(containers ? { containers } : {}) };
}

export const REGISTRY = {
  host: entry('host', 'the static probe directly on this machine', () => new HostTarget()),
  runc: entry('container', 'runc with an OCI bundle', (d) => new OciRuntimeTarget('runc', d), listed('runc', ['runc', '--root', '/run/isoprobe/runc', 'list', '-q'])),
  runsc: entry('container', 'gVisor (runsc) with an OCI bundle', (d) => new OciRuntimeTarget('runsc', d), listed('runsc', ['runsc', '--root', '/run/isoprobe/runsc', 'list', '-q'])),
  crun: entry('container', 'crun with an OCI bundle', (d) => new OciRuntimeTarget('crun', d), listed('crun', ['crun', '--root', '/run/isoprobe/crun', 'list', '-q'])),
  docker: entry('container', 'Docker engine (runtime selectable: runc, runsc)', (d) => new EngineTarget('docker', d), engineContainers('docker')),
  podman: entry('container', 'Podman (runtime selectable)', (d) => new EngineTarget('podman', d), engineContainers('podman')),
  containerd: entry('container', `containerd via ctr, runtime ${RUNC_V2}`, (d) => new ContainerdTarget('containerd', d, RUNC_V2), listed('containerd', ['ctr', '--connect-timeout', '2s', '-n', CTR_NAMESPACE, 'containers', 'ls', '-q'])),
  kata: entry('container', `Kata Containers via containerd, runtime ${KATA_V2}`, (d) => new ContainerdTarget('kata', d, KATA_V2)),
  'qemu-microvm': entry('vm', 'QEMU -M microvm (KVM, or TCG emulation labelled as such)', qemuMicrovmTarget),
  'qemu-virt': entry('vm', 'QEMU -M virt: arm64 guests (TCG on x86-64, labelled emulated; KVM on an arm64 host)', qemuVirtTarget),
  firecracker: entry('vm', 'Firecracker (HTTP API on a Unix socket; needs KVM)', firecrackerTarget),
  'cloud-hypervisor': entry('vm', 'Cloud Hypervisor (command line; virtio over PCI; needs KVM)', cloudHypervisorTarget),
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
  return [...TARGET_NAMES.map(workDirPrefix), 'isoprobe-avail-', 'isoprobe-image-', 'isoprobe-ctr-'];
}
