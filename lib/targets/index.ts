// Every target isoprobe knows, by name.
import { ContainerdTarget, KATA_V2, RUNC_V2 } from './containerd';
import { EngineTarget } from './engine';
import { HostTarget } from './host';
import { OciRuntimeTarget } from './oci-runtime';
import { cloudHypervisorTarget } from './cloud-hypervisor';
import { firecrackerTarget } from './firecracker';
import { qemuMicrovmTarget } from './qemu';
import type { Target } from './types';

export const TARGET_NAMES = ['host', 'runc', 'runsc', 'crun', 'docker', 'podman', 'containerd', 'kata', 'qemu-microvm', 'firecracker', 'cloud-hypervisor'] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export function makeTarget(name: TargetName): Target {
  switch (name) {
    case 'host': return new HostTarget();
    case 'runc': return new OciRuntimeTarget('runc', 'runc with an OCI bundle');
    case 'runsc': return new OciRuntimeTarget('runsc', 'gVisor (runsc) with an OCI bundle');
    case 'crun': return new OciRuntimeTarget('crun', 'crun with an OCI bundle');
    case 'docker': return new EngineTarget('docker', 'Docker engine (runtime selectable: runc, runsc)');
    case 'podman': return new EngineTarget('podman', 'Podman (runtime selectable)');
    case 'containerd': return new ContainerdTarget('containerd', `containerd via ctr, runtime ${RUNC_V2}`, RUNC_V2);
    case 'kata': return new ContainerdTarget('kata', `Kata Containers via containerd, runtime ${KATA_V2}`, KATA_V2);
    case 'qemu-microvm': return qemuMicrovmTarget();
    case 'firecracker': return firecrackerTarget();
    case 'cloud-hypervisor': return cloudHypervisorTarget();
  }
}

export function isTargetName(s: string): s is TargetName {
  return (TARGET_NAMES as readonly string[]).includes(s);
}

export type { Target, Session, SessionSpec, Workload, TargetResult, StackInfo, Availability, Placement } from './types';
