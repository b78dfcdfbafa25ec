// Cloud Hypervisor from its command line: --kernel, --initramfs, --cmdline, --disk path=,direct=,
// --net tap=, serial on stdout. Needs KVM. Its virtio devices are on PCI only (docs/device_model.md),
// so its guest gets the virtio-pci modules and no pci=off.
import type { ThreadNames } from '../cost/roles';
import { IsoprobeError } from '../errors';
import { hostArch } from '../paths';
import { extractVmlinux } from '../image/kernel';
import { versionOf, which } from './exec';
import { kvmGuestUnavailable } from './kvm';
import type { Availability } from './types';
import { atLeast, parseVersion } from './version';
import { VmTarget } from './vm';
import { type GuestProfile, type Launch, type LaunchContext, notPackaged, type Vmm } from './vmm';
import { checkSpec, type Refusals, settingDefault, type Settings, VM_SETTINGS } from './settings';

/** What a Cloud Hypervisor guest can be set to (--disk direct=, num_queues). */
export const CLOUD_HYPERVISOR_SETTINGS: Settings = {
  ...VM_SETTINGS,
  host_cache: { def: { kind: 'enum', default: 'none', choices: ['none', 'writeback'], help: 'host cache of the data disk (Cloud Hypervisor --disk direct=on for none, direct=off for writeback)' }, field: 'hostCache', flag: true },
  queues: { def: { kind: 'uint', default: 1, min: 1, max: 16, help: "queues per virtio device (the disk's num_queues; N queue pairs on the net, num_queues=2N)" }, field: 'queues' },
};

/**
 * How Cloud Hypervisor names its threads (its sources): "vmm" (the event loop), "vcpuN",
 * "http-server", "_disk0_q0" and "_net1_qp0" per device queue; the process's first thread
 * ("cloud-hyperviso") only waits.
 */
export const CLOUD_HYPERVISOR_THREADS: ThreadNames = {
  threads: [{ name: /^vcpu(\d+)$/, role: 'vcpu' }, { name: /^vmm$/, role: 'vmm-main' }, { name: /^http-server$/, role: 'vmm-api' }, { name: /_q\d+$|_qp\d+$/, role: 'iothread' }],
  main: 'vmm-other',
};

/** Settings of other VMMs that Cloud Hypervisor has no way to honour. */
export const CLOUD_HYPERVISOR_REFUSES: Refusals = {
  aio: "isoprobe gives Cloud Hypervisor no I/O engine choice: its --disk has no aio= (it picks its own)",
  vhost: "isoprobe runs Cloud Hypervisor's virtio-net in its own process (no vhost-user backend)",
  iothread: "Cloud Hypervisor has no iothread setting (each disk queue has a thread of its own)",
  accel: 'Cloud Hypervisor runs under KVM only',
  transport: 'Cloud Hypervisor shows its devices on virtio-pci only',
};

export const CLOUD_HYPERVISOR = 'cloud-hypervisor';
/** v49 dropped the default 192.168.249.1/24 that earlier releases put on a tap (release notes, v49.0). */
const NO_DEFAULT_IP = [49, 0, 0] as const;
/** v51 refuses writes to sector 0 of an autodetected raw image, and added image_type= to say "raw" (release notes, v51.0). */
const IMAGE_TYPE = [51, 0, 0] as const;

export function cloudHypervisorArgs(ctx: LaunchContext, kernel: string, version: readonly number[] = [0, 0, 0]): { args: string[]; diskCache: string } {
  // What Cloud Hypervisor accepts is its declaration's (also for a context made without the variant parser).
  checkSpec('cloud-hypervisor', { settings: CLOUD_HYPERVISOR_SETTINGS, refuses: CLOUD_HYPERVISOR_REFUSES }, ctx.spec, CLOUD_HYPERVISOR_SETTINGS);
  const cache = ctx.spec.hostCache ?? settingDefault<string>(CLOUD_HYPERVISOR_SETTINGS, 'host_cache');
  const direct = cache === 'none' ? 'on' : 'off';
  const args = [
    '--kernel', kernel,
    '--initramfs', ctx.initramfs,
    '--cmdline', ctx.cmdline,
    '--cpus', `boot=${ctx.vcpus}`,
    '--memory', `size=${ctx.memMiB}M`,
    '--serial', 'tty',
    '--console', 'off',
  ];
  // Without image_type=raw, v51+ autodetects the format and then refuses every write to sector 0.
  // queues=N: the disk's num_queues, and N queue pairs on the net (num_queues counts RX and TX: 2N).
  const q = ctx.spec.queues ?? 1;
  if (ctx.dataFile) args.push('--disk', `path=${ctx.dataFile},direct=${direct}${atLeast(version, IMAGE_TYPE) ? ',image_type=raw' : ''}${q > 1 ? `,num_queues=${q}` : ''}`);
  if (ctx.tap) args.push('--net', `tap=${ctx.tap},mac=${ctx.mac}${q > 1 ? `,num_queues=${2 * q}` : ''}`);
  return { args, diskCache: `Cloud Hypervisor direct=${direct} (${direct === 'on' ? 'O_DIRECT: the host page cache is bypassed' : 'through the host page cache'})` };
}

/** Why this Cloud Hypervisor cannot be used, or undefined. */
export function cloudHypervisorVersionProblem(versionText: string): string | undefined {
  const v = parseVersion(versionText);
  if (!v) return `cannot read a version from "${CLOUD_HYPERVISOR} --version" (${versionText.trim() || 'no output'})`;
  if (!atLeast(v, NO_DEFAULT_IP))
    return `${versionText.trim()} puts a default address 192.168.249.1/24 on a tap it believes absent, which it does inside the namespaces isoprobe runs VMMs in, and isoprobe configures no address outside them (use v49 or later)`;
  return undefined;
}

class CloudHypervisor implements Vmm {
  readonly name = 'cloud-hypervisor';
  readonly settings = CLOUD_HYPERVISOR_SETTINGS;
  readonly refuses = CLOUD_HYPERVISOR_REFUSES;
  readonly threads = CLOUD_HYPERVISOR_THREADS;
  readonly arch = hostArch();
  readonly description = 'Cloud Hypervisor (command line; virtio over PCI; needs KVM)';

  async version(): Promise<string> {
    return (await versionOf([CLOUD_HYPERVISOR, '--version'])) ?? 'unknown';
  }

  binary(): string {
    return CLOUD_HYPERVISOR;
  }

  guest(): GuestProfile {
    // Its aarch64 machine's console is a PL011 (ttyAMA0); x86-64's an 8250.
    return { transport: 'pci', exit: 'poweroff', ...(this.arch === 'arm64' ? { console: 'ttyAMA0' } : {}) };
  }

  async available(): Promise<Availability> {
    if (!(await which(CLOUD_HYPERVISOR))) return { ok: false, reason: notPackaged(CLOUD_HYPERVISOR, kvmGuestUnavailable()) };
    const version = await this.version();
    const problems = [cloudHypervisorVersionProblem(version), kvmGuestUnavailable()].filter(Boolean);
    return problems.length ? { ok: false, version, reason: problems.join('; ') } : { ok: true, version };
  }

  async launch(ctx: LaunchContext): Promise<Launch> {
    const kvm = kvmGuestUnavailable();
    if (kvm) throw new IsoprobeError('EUNAVAILABLE', `cloud-hypervisor: ${kvm}`);
    const version = await this.version();
    const bad = cloudHypervisorVersionProblem(version);
    if (bad) throw new IsoprobeError('EUNAVAILABLE', `cloud-hypervisor: ${bad}`);
    // x86-64: an ELF vmlinux through its PVH entry point; aarch64: the kernel's PE Image as it is.
    const c = cloudHypervisorArgs(ctx, this.arch === 'arm64' ? ctx.kernel.bzImage : extractVmlinux(ctx.kernel.bzImage), parseVersion(version));
    return { argv: [CLOUD_HYPERVISOR, ...c.args], diskCache: c.diskCache, emulated: false, accel: 'KVM' };
  }
}

export const CLOUD_HYPERVISOR_VMM: Vmm = new CloudHypervisor();

export function cloudHypervisorTarget(): VmTarget {
  return new VmTarget(CLOUD_HYPERVISOR_VMM);
}
