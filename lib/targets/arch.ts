// --arch: which architecture's probe a target runs. A microVM's architecture is its machine's
// (qemu-microvm x86-64, qemu-virt arm64); the host and containers run another architecture's
// probe only through the kernel's binfmt handler for it (user-mode emulation, labelled by the
// probe itself in env.emulation).
import { existsSync, readFileSync } from 'node:fs';

import { IsoprobeError } from '../errors';
import { type Arch, hostArch, probeBinaryPath } from '../paths';
import type { SessionSpec, TargetKind } from './types';

const QEMU_NAME: Record<Arch, string> = { x64: 'x86_64', arm64: 'aarch64' };

/** Why this machine cannot run a probe of `arch` outside a guest, or undefined. */
export function foreignArchUnavailable(arch: Arch): string | undefined {
  if (arch === hostArch()) return undefined;
  const handler = `/proc/sys/fs/binfmt_misc/qemu-${QEMU_NAME[arch]}`;
  let state = '';
  try {
    state = readFileSync(handler, 'utf8').split('\n')[0] ?? '';
  } catch {
    /* not registered, or binfmt_misc not mounted */
  }
  if (state !== 'enabled') return `this ${hostArch()} machine has no binfmt handler for ${QEMU_NAME[arch]} (${handler}; Debian's qemu-user-static registers one where binfmt_misc is mounted), so an ${arch} probe runs here only inside a guest (qemu-virt)`;
  if (!existsSync(probeBinaryPath(arch))) return `no ${arch} probe at ${probeBinaryPath(arch)} (scripts/setup.sh arm64 cross-builds it)`;
  return undefined;
}

/** The spec with the probe of its --arch, for the host and containers; refused with the reason when it cannot run. */
export function resolveArch(target: string, kind: TargetKind, spec: SessionSpec & { arch?: Arch }): SessionSpec {
  if (!spec.arch || kind === 'vm' || spec.arch === hostArch()) return spec;
  const why = foreignArchUnavailable(spec.arch);
  if (why) throw new IsoprobeError('EUNAVAILABLE', `${target} --arch ${spec.arch}: ${why}`);
  return { ...spec, probe: spec.probe ?? probeBinaryPath(spec.arch) };
}
