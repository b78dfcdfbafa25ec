// QEMU -M virt for arm64 guests: the arm64 counterpart of microvm (virtio-mmio devices, the PL011
// console, PSCI power-off). KVM on an arm64 host whose /dev/kvm works; otherwise TCG emulation,
// and then every number is marked emulated. The guest's /init is the aarch64 probe.
import { existsSync } from 'node:fs';

import { IsoprobeError } from '../errors';
import { hostArch, probeBinaryPath } from '../paths';
import { exec, versionOf, which } from './exec';
import type { Availability } from './types';
import { type GuestProfile, kvmUnavailable, type Launch, type LaunchContext, type Vmm, type VmSpec, VmTarget } from './vm';

export const QEMU_AARCH64 = 'qemu-system-aarch64';

/** The command line, built from the context alone (so it can be checked without running QEMU). */
export function virtArgs(ctx: LaunchContext, accel: 'kvm' | 'tcg'): { args: string[]; diskCache: string; netBackend: string } {
  const cache = ctx.spec.hostCache ?? 'none';
  const aio = (ctx.spec.aio as string | undefined) ?? (cache === 'none' ? 'io_uring' : 'threads');
  if (!['none', 'writeback', 'unsafe'].includes(cache)) throw new IsoprobeError('EINVALOPT', `hostCache "${cache}": expected none, writeback or unsafe for QEMU`, { option: 'host_cache' });
  if (!['threads', 'native', 'io_uring'].includes(aio)) throw new IsoprobeError('EINVALOPT', `aio "${aio}": expected threads, native or io_uring for QEMU`, { option: 'aio' });
  const bus = ctx.spec.transport === 'pci' ? 'pci' : 'device';
  const args = [
    '-M', 'virt',
    '-accel', accel,
    // TCG: a Cortex-A72 (no pointer authentication, whose emulation is slow); KVM: the host's CPU.
    '-cpu', accel === 'kvm' ? 'host' : 'cortex-a72',
    '-smp', String(ctx.vcpus),
    '-m', `${ctx.memMiB}M`,
    '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-kernel', ctx.kernel.bzImage,
    '-initrd', ctx.initramfs,
    '-append', ctx.cmdline,
  ];
  if (ctx.dataFile) args.push('-drive', `id=data,file=${ctx.dataFile},format=raw,if=none,cache=${cache},aio=${aio}`, '-device', `virtio-blk-${bus},drive=data`);
  if (ctx.tap) args.push('-netdev', `tap,id=net0,ifname=${ctx.tap},script=no,downscript=no`, '-device', `virtio-net-${bus},netdev=net0,mac=${ctx.mac}`);
  return {
    args,
    diskCache: `QEMU cache=${cache} aio=${aio} (${cache === 'none' ? 'O_DIRECT on the host file, the host page cache is bypassed' : 'through the host page cache'})`,
    netBackend: ctx.tap ? "tap, virtio-net emulated in QEMU's userspace" : 'none',
  };
}

class QemuVirt implements Vmm {
  readonly name = 'qemu-virt';
  readonly arch = 'arm64' as const;
  readonly description = 'QEMU -M virt: arm64 guests (TCG on x86-64, labelled emulated; KVM on an arm64 host)';

  binary(spec: VmSpec): string {
    return spec.vmmBinary ?? QEMU_AARCH64;
  }

  async version(spec: VmSpec = {}): Promise<string> {
    return (await versionOf([this.binary(spec), '--version'])) ?? 'unknown';
  }

  guest(spec: VmSpec): GuestProfile {
    return { transport: spec.transport ?? 'mmio', exit: 'poweroff', console: 'ttyAMA0' };
  }

  /** KVM only where the host is arm64 itself and /dev/kvm works. */
  private kvm(): string | undefined {
    if (hostArch() !== 'arm64') return `this host is ${hostArch()}: an arm64 guest runs under TCG emulation`;
    return kvmUnavailable();
  }

  async available(): Promise<Availability> {
    if (process.getuid?.() !== 0) return { ok: false, reason: 'microVM targets need root (tap devices, namespaces)' };
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
    const why = want === 'tcg' ? undefined : this.kvm();
    if (want === 'kvm' && why) throw new IsoprobeError('EUNAVAILABLE', `accel kvm: ${why}`);
    const accel = want === 'tcg' || why ? 'tcg' : 'kvm';
    const v = virtArgs(ctx, accel);
    return {
      argv: [this.binary(ctx.spec), ...v.args],
      diskCache: v.diskCache,
      netBackend: v.netBackend,
      emulated: accel === 'tcg',
      accel: accel === 'tcg' ? `TCG software emulation${why ? ` (${why})` : ' (requested)'}` : 'KVM',
    };
  }
}

export function qemuVirtTarget(): VmTarget {
  return new VmTarget(new QemuVirt());
}
