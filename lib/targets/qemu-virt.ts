// QEMU -M virt for arm64 guests: the arm64 counterpart of microvm (virtio-mmio devices, the PL011
// console, PSCI power-off). KVM on an arm64 host whose /dev/kvm works; otherwise TCG emulation,
// and then every number is marked emulated. The guest's /init is the aarch64 probe.
import { existsSync } from 'node:fs';

import { hostArch, probeBinaryPath } from '../paths';
import { exec, versionOf, which } from './exec';
import { QEMU_SETTINGS, QEMU_THREADS, qemuBinarySetting, qemuCheck, qemuDevices, qemuGuestArgs, qemuLaunch, vhostChoice } from './qemu';
import type { Settings } from './settings';
import type { Availability } from './types';
import { guestKernelProblem, kvmUnavailable, VmTarget } from './vm';
import { type GuestProfile, type Launch, type LaunchContext, type Vmm } from './vmm';
import type { SessionSpec } from './types';

export const QEMU_AARCH64 = 'qemu-system-aarch64';

/** The command line, built from the context alone (so it can be checked without running QEMU). */
export function virtArgs(ctx: LaunchContext, accel: 'kvm' | 'tcg'): { args: string[]; diskCache: string; netBackend: string } {
  const d = qemuDevices(ctx, vhostChoice(ctx.spec, accel, existsSync('/dev/vhost-net')));
  const args = [
    '-M', 'virt',
    '-accel', accel,
    // TCG: a Cortex-A72 (no pointer authentication, whose emulation is slow); KVM: the host's CPU.
    '-cpu', accel === 'kvm' ? 'host' : 'cortex-a72',
    ...qemuGuestArgs(ctx),
    ...d.args,
  ];
  return { args, diskCache: d.diskCache, netBackend: d.netBackend };
}

/** QEMU's settings, its binary qemu-system-aarch64. */
const VIRT_SETTINGS: Settings = { ...QEMU_SETTINGS, qemu: qemuBinarySetting(QEMU_AARCH64) };

class QemuVirt implements Vmm {
  readonly name = 'qemu-virt';
  readonly settings = VIRT_SETTINGS;
  /** QEMU's combinations, and an arm64 guest's kernel (none built from source yet). */
  check(spec: SessionSpec): string | undefined {
    return qemuCheck(spec) ?? guestKernelProblem(spec, 'arm64');
  }
  readonly threads = QEMU_THREADS;
  readonly arch = 'arm64' as const;
  readonly description = 'QEMU -M virt: arm64 guests (TCG on x86-64, labelled emulated; KVM on an arm64 host)';

  binary(spec: SessionSpec): string {
    return spec.vmmBinary ?? QEMU_AARCH64;
  }

  async version(spec: SessionSpec = {}): Promise<string> {
    return (await versionOf([this.binary(spec), '--version'])) ?? 'unknown';
  }

  guest(spec: SessionSpec): GuestProfile {
    return { transport: spec.transport ?? 'mmio', exit: 'poweroff', console: 'ttyAMA0' };
  }

  /** KVM only where the host is arm64 itself and /dev/kvm works. */
  private kvm(): string | undefined {
    if (hostArch() !== 'arm64') return `this host is ${hostArch()}: an arm64 guest runs under TCG emulation`;
    return kvmUnavailable();
  }

  async available(): Promise<Availability> {
    if (!(await which(QEMU_AARCH64))) return { ok: false, reason: `${QEMU_AARCH64} is not installed (Debian package qemu-system-arm; scripts/setup.sh arm64 installs it)` };
    const machines = await exec([QEMU_AARCH64, '-M', 'help'], { timeoutMs: 10_000 });
    if (!/^virt\b/m.test(machines.stdout)) return { ok: false, reason: `${QEMU_AARCH64} has no virt machine type` };
    const probe = probeBinaryPath('arm64');
    if (!existsSync(probe)) return { ok: false, reason: `no arm64 probe at ${probe} (scripts/setup.sh arm64 cross-builds it; it needs Debian's g++-aarch64-linux-gnu)` };
    const kvm = this.kvm();
    return { ok: true, version: `${await this.version()}${kvm ? ` (TCG emulation: ${kvm})` : ' (KVM)'}` };
  }

  async launch(ctx: LaunchContext): Promise<Launch> {
    const want = ctx.spec.accel ?? 'auto';
    return qemuLaunch(want, want === 'tcg' ? undefined : this.kvm(), (accel) => {
      const v = virtArgs(ctx, accel);
      return { argv: [this.binary(ctx.spec), ...v.args], diskCache: v.diskCache, netBackend: v.netBackend };
    });
  }

}

export const QEMU_VIRT: Vmm = new QemuVirt();

export function qemuVirtTarget(): VmTarget {
  return new VmTarget(QEMU_VIRT);
}
