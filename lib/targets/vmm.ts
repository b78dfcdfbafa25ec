// What a VMM target provides, apart from the boot engine that runs it (vm.ts): its settings and
// thread names (declared once in its own file), how it shows the guest its devices, its launch
// command, its binary, version and availability. A new VMM implements Vmm in its own file and adds
// one registry entry.
import type { ThreadNames } from '../cost/roles';
import type { GuestKernel, Transport } from '../image/kernel';
import type { Arch } from '../paths';
import type { TargetSettings } from './settings';
import type { Availability, SessionSpec } from './types';

/**
 * What a VMM shows the guest: how its virtio devices are found, and how the guest ends the VM
 * (Firecracker has no power-off device: the guest's reboot, through the i8042 reset line with
 * reboot=k, is what makes it exit).
 */
export interface GuestProfile {
  transport: Transport;
  exit: 'poweroff' | 'reboot';
  /** The serial console's device (ttyS0: the 8250 of x86 machines; ttyAMA0: arm64 virt's PL011). */
  console?: string;
}

/** The guest's kernel command line for a profile. */
export function guestCommandLine(p: GuestProfile, queues = 1): string {
  // No PCI on virtio-mmio machines: without pci=off the guest probes for it, and under TCG it has hung there.
  const reboot = p.console === 'ttyAMA0' ? '' : p.exit === 'reboot' ? ' reboot=k' : ' reboot=t';  // x86 reboot methods
  // isoprobe.queues: /init sets the guest's net channels to it where the kernel enabled fewer.
  return `console=${p.console ?? 'ttyS0'} quiet panic=-1${reboot}${p.transport === 'mmio' ? ' pci=off' : ''} isoprobe isoprobe.exit=${p.exit}${queues > 1 ? ` isoprobe.queues=${queues}` : ''}`;
}

export interface LaunchContext {
  kernel: GuestKernel;
  initramfs: string;
  cmdline: string;
  dataFile?: string;
  tap?: string;
  mac: string;
  vcpus: number;
  memMiB: number;
  workDir: string;
  spec: SessionSpec;
}

export interface Launch {
  argv: string[];
  /** After spawning: e.g. Firecracker's API calls and InstanceStart. */
  afterSpawn?: () => Promise<void>;
  /** The data disk's host cache mode as configured (for the record). */
  diskCache: string;
  /** How guest network traffic reaches the host side. */
  netBackend?: string;
  emulated: boolean;
  accel: string;
  config?: unknown;
}

/** What a VMM target provides: its settings (TargetSettings), its threads' names, and its verbs. */
export interface Vmm extends TargetSettings {
  readonly name: string;
  /** The guest's architecture: which probe goes into the initramfs, which kernel boots. */
  readonly arch: Arch;
  readonly description: string;
  /** How it names its threads: the host-cost accounting's roles for them. */
  readonly threads: ThreadNames;
  available(): Promise<Availability>;
  version(spec?: SessionSpec): Promise<string>;
  /** The executable it runs (for the record: its path and SHA-256 go into every result's stack). */
  binary(spec: SessionSpec): string;
  launch(ctx: LaunchContext): Promise<Launch>;
  guest(spec: SessionSpec): GuestProfile;
}

/** Why a VMM that Debian does not package is unavailable, and whether KVM would run it here. */
export function notPackaged(binary: string, kvm: string | undefined): string {
  return `${binary} is not installed (it is not packaged in Debian 12; put the release binary on PATH); ${kvm ?? 'KVM works here'}`;
}
