// QEMU -M microvm: virtio-blk-device and virtio-net-device on virtio-mmio. KVM when /dev/kvm works,
// otherwise TCG software emulation, and then every number is marked emulated.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { gunzipSync } from 'node:zlib';

import type { ThreadNames } from '../cost/roles';
import { native } from '../probe/native';

import { IsoprobeError } from '../errors';
import { hostArch } from '../paths';
import { exec, versionOf, which } from './exec';
import { kvmBootCheck, kvmGuestUnavailable, QEMU } from './kvm';
import { VmTarget } from './vm';
import { type GuestProfile, type Launch, type LaunchContext, type Vmm } from './vmm';
import { checkSpec, narrowed, onOff, settingDefault, type Settings, VM_SETTINGS } from './settings';
import type { SessionSpec } from './types';
import type { Availability } from './types';

export { QEMU };

/** What a QEMU guest (microvm or virt) can be set to: the one declaration of each QEMU setting. */
export const QEMU_SETTINGS: Settings = {
  ...VM_SETTINGS,
  host_cache: { def: { kind: 'enum', default: 'none', choices: ['none', 'writeback', 'unsafe'], help: 'host cache of the data disk (QEMU cache=; none opens it with O_DIRECT)' }, field: 'hostCache', flag: true },
  aio: { def: { kind: 'enum', default: '', choices: ['threads', 'native', 'io_uring'], help: 'QEMU aio= of the data disk (native needs host_cache none)', defaultText: 'io_uring with host_cache none, else threads' }, field: 'aio', flag: true },
  queues: { def: { kind: 'uint', default: 1, min: 1, max: 16, help: 'queues per virtio device (virtio-blk num-queues, virtio-net queue pairs on a multi-queue tap)' }, field: 'queues' },
  vhost: { def: { kind: 'enum', default: '', choices: ['on', 'off'], help: 'vhost-net for the tap', defaultText: 'on under KVM where /dev/vhost-net exists' }, field: 'vhost' },
  iothread: onOff('iothread', 'the data disk on its own iothread'),
  accel: { def: { kind: 'enum', default: 'auto', choices: ['auto', 'kvm', 'tcg'], help: 'KVM, TCG emulation, or KVM when it works' }, field: 'accel', flag: true },
  qemu: { def: { kind: 'string', default: '', help: 'the QEMU binary', defaultText: QEMU }, field: 'vmmBinary' },
  transport: { def: { kind: 'enum', default: 'mmio', choices: ['mmio', 'pci'], help: 'virtio transport shown to the guest' }, field: 'transport' },
};

/**
 * How QEMU names its threads with -name debug-threads=on (read from /proc/PID/task/TID/comm of a
 * running guest): "CPU N/TCG" (or KVM, HVF), "IO <iothread id>", "worker" for its aio=threads
 * pool; the main loop is the process's first thread, and its RCU thread has the process's name.
 */
export const QEMU_THREADS: ThreadNames = {
  threads: [{ name: /^CPU (\d+)\/(TCG|KVM|HVF)$/, role: 'vcpu' }, { name: /^IO /, role: 'iothread' }, { name: /^worker$/, role: 'io-pool' }],
  main: 'vmm-main',
};

/** The binary of another QEMU system emulator (qemu-virt's default). */
export const qemuBinarySetting = (binary: string) => narrowed(QEMU_SETTINGS.qemu!, { defaultText: binary });

/** The combinations QEMU cannot run: aio=native opens the file with O_DIRECT, i.e. cache=none. */
export function qemuCheck(spec: SessionSpec): string | undefined {
  if (spec.aio === 'native' && (spec.hostCache ?? settingDefault(QEMU_SETTINGS, 'host_cache')) !== 'none')
    return `aio=native needs host_cache=none, not ${spec.hostCache} (QEMU opens the file with O_DIRECT for it)`;
  return undefined;
}

export interface QemuArgs {
  accel: 'kvm' | 'tcg';
  args: string[];
  diskCache: string;
  netBackend: string;
}

/**
 * A test hook, not a setting: QEMU's own disk throttling (`throttling.iops-total=N`, ...) on the data
 * drive from $ISOPROBE_TEST_QEMU_THROTTLE, so a test can slow the guest's disk at the VMM (the
 * boundary) and nowhere else (test/timing/trace-boundary.test.ts). Results name it in the disk line.
 */
function testThrottle(): string | undefined {
  const v = process.env.ISOPROBE_TEST_QEMU_THROTTLE;
  if (!v) return undefined;
  if (!/^throttling\.[a-z-]+=\d+(,throttling\.[a-z-]+=\d+)*$/.test(v)) throw new IsoprobeError('EINVALOPT', `$ISOPROBE_TEST_QEMU_THROTTLE "${v}": expected QEMU drive throttling options, e.g. throttling.iops-total=100`);
  return v;
}

/**
 * The data disk and the tap of a QEMU guest (microvm or virt): the host cache and aio checked,
 * the virtio devices on virtio-mmio ("device") or PCI, vhost-net where KVM can use it.
 */
export function qemuDevices(ctx: LaunchContext, vhost: boolean): { args: string[]; diskCache: string; netBackend: string } {
  // What QEMU accepts is its declaration's (also for a context made without the variant parser).
  checkSpec('qemu', { settings: QEMU_SETTINGS, check: qemuCheck }, ctx.spec, QEMU_SETTINGS);
  const cache = ctx.spec.hostCache ?? settingDefault<string>(QEMU_SETTINGS, 'host_cache');
  const aio = (ctx.spec.aio as string | undefined) ?? (cache === 'none' ? 'io_uring' : 'threads');
  const bus = ctx.spec.transport === 'pci' ? 'pci' : 'device';
  const q = ctx.spec.queues ?? 1;
  const args: string[] = [];
  // virtio-blk: num-queues (microvm's virtio-blk-device defaults to one); an iothread of its own.
  const blkQueues = q > 1 ? `,num-queues=${q}` : '';
  if (ctx.spec.iothread) args.push('-object', 'iothread,id=iothread0');
  const throttle = testThrottle();
  if (ctx.dataFile) args.push('-drive', `id=data,file=${ctx.dataFile},format=raw,if=none,cache=${cache},aio=${aio}${throttle ? `,${throttle}` : ''}`, '-device', `virtio-blk-${bus},drive=data${blkQueues}${ctx.spec.iothread ? ',iothread=iothread0' : ''}`);
  // virtio-net: N queue pairs on the multi-queue tap, mq=on; on PCI 2N+2 MSI-X vectors.
  const netQueues = q > 1 ? `,mq=on${bus === 'pci' ? `,vectors=${2 * q + 2}` : ''}` : '';
  const vhostArg = vhost ? `,vhost=on${ctx.spec.vhost === 'on' ? ',vhostforce=on' : ''}` : '';
  if (ctx.tap) args.push('-netdev', `tap,id=net0,ifname=${ctx.tap},script=no,downscript=no${q > 1 ? `,queues=${q}` : ''}${vhostArg}`, '-device', `virtio-net-${bus},netdev=net0,mac=${ctx.mac}${netQueues}`);
  const hostSide = cache === 'none' ? 'O_DIRECT on the host file, the host page cache is bypassed' : 'through the host page cache';
  const pairs = q > 1 ? `, ${q} queue pairs on a multi-queue tap` : '';
  const netBackend = !ctx.tap ? 'none' : vhost ? `tap + vhost-net (in-kernel virtio-net backend)${pairs}` : `tap, virtio-net emulated in QEMU's userspace (no vhost-net)${pairs}`;
  const disk = `QEMU cache=${cache} aio=${aio} (${hostSide})${q > 1 ? `, ${q} queues` : ''}${ctx.spec.iothread ? ', on iothread0' : ''}${throttle ? `, ${throttle} (ISOPROBE_TEST_QEMU_THROTTLE)` : ''}`;
  return { args, diskCache: disk, netBackend };
}

/**
 * vhost-net for the tap: by default where KVM runs and /dev/vhost-net exists. `vhost=on` asks for
 * it under TCG too (QEMU then serves the guest's notifications to the vhost worker itself,
 * vhostforce) and is refused, with the reason, where the host kernel has no vhost-net.
 */
export function vhostChoice(spec: SessionSpec, accel: 'kvm' | 'tcg', vhostNet: boolean): boolean {
  if (spec.vhost === 'off') return false;
  if (spec.vhost === 'on' && !vhostNet)
    throw new IsoprobeError('EUNAVAILABLE', `vhost=on: /dev/vhost-net is not on this host (${vhostNetReason()}); the tap stays with QEMU's own virtio-net (vhost=off)`, { option: 'targets' });
  return spec.vhost === 'on' || (accel === 'kvm' && vhostNet);
}

/** Why /dev/vhost-net is missing: the running kernel's configuration (/proc/config.gz, /boot), else its modules. */
function vhostNetReason(): string {
  const config = existsSync('/proc/config.gz') ? gunzipSync(readFileSync('/proc/config.gz')).toString('utf8')
    : existsSync(`/boot/config-${release()}`) ? readFileSync(`/boot/config-${release()}`, 'utf8') : '';
  const line = config.split('\n').find((l) => /\bCONFIG_VHOST_NET\b/.test(l));
  if (line) return `the host kernel ${release()} has ${line.startsWith('#') ? 'CONFIG_VHOST_NET unset' : line.trim()}${line.endsWith('=m') ? ' and the module is not loaded' : ''}`;
  return existsSync(`/lib/modules/${release()}`) ? `the vhost_net module is not loaded (modprobe vhost_net)` : `kernel ${release()} has no modules directory and no vhost-net built in`;
}

/** What every QEMU guest of isoprobe's gets: vCPUs, memory, no default devices, the serial console on stdio, the kernel, initramfs and command line. */
export function qemuGuestArgs(ctx: LaunchContext): string[] {
  // debug-threads=on names each thread for its role ("CPU 0/TCG", "IO iothread0", "worker"): the
  // host-cost accounting splits the VMM's CPU by those names.
  return ['-name', 'isoprobe,debug-threads=on', '-smp', String(ctx.vcpus), '-m', `${ctx.memMiB}M`, '-nodefaults', '-no-user-config', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-kernel', ctx.kernel.bzImage, '-initrd', ctx.initramfs, '-append', ctx.cmdline];
}

/**
 * The Launch of a QEMU guest: KVM unless TCG was asked for or `why` says KVM cannot run a guest
 * here (then every number is marked emulated, with the reason); asking for KVM then is refused.
 */
export function qemuLaunch(want: 'kvm' | 'tcg' | 'auto', why: string | undefined, build: (accel: 'kvm' | 'tcg') => { argv: string[]; diskCache: string; netBackend: string }): Launch {
  if (want === 'kvm' && why) throw new IsoprobeError('EUNAVAILABLE', `accel kvm: ${why}`);
  const accel = want === 'tcg' || why ? 'tcg' : 'kvm';
  const b = build(accel);
  return { ...b, emulated: accel === 'tcg', accel: accel === 'tcg' ? `TCG software emulation${why ? ` (${why})` : ' (requested)'}` : 'KVM' };
}

/** The command line, built from the context alone (so it can be checked without running QEMU). */
export function qemuArgs(ctx: LaunchContext, accel: 'kvm' | 'tcg', vhostNet = existsSync('/dev/vhost-net')): QemuArgs {
  const pci = ctx.spec.transport === 'pci';
  const args = [
    // acpi=off shows the guest a machine it cannot power off (as Firecracker does); pcie=on puts
    // the devices on PCI (as Cloud Hypervisor does), which needs ACPI to be found.
    '-M', `microvm,x-option-roms=off,rtc=on${ctx.spec.acpi === false ? ',acpi=off' : ''}${pci ? ',pcie=on' : ''}`,
    '-accel', accel,
    // TCG: qemu64, since -cpu max confuses the guest's PIT-based TSC calibration.
    '-cpu', accel === 'kvm' ? 'host' : 'qemu64',
    ...qemuGuestArgs(ctx),
  ];
  if (pci && ctx.spec.acpi === false) throw new IsoprobeError('EINVALOPT', 'transport "pci" needs ACPI on QEMU microvm (the guest finds the PCIe host bridge through it)', { option: 'acpi' });
  const d = qemuDevices(ctx, vhostChoice(ctx.spec, accel, vhostNet));
  return { accel, args: [...args, ...d.args], diskCache: d.diskCache, netBackend: d.netBackend };
}

/**
 * The guest command line for an accelerator. Under TCG, QEMU's rdtsc reads the host's TSC, and
 * microvm has no PIT/HPET to calibrate against reliably: the guest is told the host's measured TSC
 * frequency (tsc_early_khz), so its clock - and every latency the probe takes there - is right.
 */
export function guestCmdline(base: string, accel: 'kvm' | 'tcg', tscHz = accel === 'tcg' ? native().tscHz() : 0): string {
  if (accel === 'kvm' || !tscHz) return base;
  // Every vCPU reads the same host TSC under TCG, so it is reliable; without saying so the guest
  // marks it unstable and falls back to jiffies, whose steps are milliseconds.
  return `${base} tsc_early_khz=${Math.round(tscHz / 1000)} tsc=reliable no_timer_check`;
}

class QemuMicrovm implements Vmm {
  readonly name = 'qemu-microvm';
  readonly settings = QEMU_SETTINGS;
  readonly check = qemuCheck;
  readonly threads = QEMU_THREADS;
  readonly arch = hostArch();
  readonly description = 'QEMU -M microvm (KVM, or TCG emulation labelled as such)';

  async version(spec: SessionSpec = {}): Promise<string> {
    return (await versionOf([spec.vmmBinary ?? QEMU, '--version'])) ?? 'unknown';
  }

  binary(spec: SessionSpec): string {
    return spec.vmmBinary ?? QEMU;
  }

  async available(): Promise<Availability> {
    if (!(await which(QEMU))) return { ok: false, reason: `${QEMU} is not installed (Debian package qemu-system-x86)` };
    const machines = await exec([QEMU, '-M', 'help'], { timeoutMs: 10_000 });
    if (!/^microvm\b/m.test(machines.stdout)) return { ok: false, reason: `${QEMU} has no microvm machine type` };
    const kvm = kvmGuestUnavailable();
    return { ok: true, version: `${await this.version()}${kvm ? ` (TCG emulation: ${kvm})` : ' (KVM)'}` };
  }

  guest(spec: SessionSpec): GuestProfile {
    return { transport: spec.transport ?? 'mmio', exit: 'poweroff' };
  }

  async launch(ctx: LaunchContext): Promise<Launch> {
    const want = ctx.spec.accel ?? (process.env.ISOPROBE_ACCEL as 'kvm' | 'tcg' | undefined) ?? 'auto';
    return qemuLaunch(want, want === 'tcg' ? undefined : kvmBootCheck(ctx.kernel), (accel) => {
      ctx.cmdline = guestCmdline(ctx.cmdline, accel);
      const q = qemuArgs(ctx, accel);
      return { argv: [ctx.spec.vmmBinary ?? QEMU, ...q.args], diskCache: q.diskCache, netBackend: q.netBackend };
    });
  }
}

export const QEMU_MICROVM: Vmm = new QemuMicrovm();

export function qemuMicrovmTarget(): VmTarget {
  return new VmTarget(QEMU_MICROVM);
}
