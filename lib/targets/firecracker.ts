// Firecracker through its HTTP API on a Unix socket: machine-config, boot-source, drives,
// network-interfaces, then InstanceStart. It boots an uncompressed ELF vmlinux (extracted from the
// bzImage) and finds its virtio-mmio devices through virtio_mmio.device= on the command line, or
// (1.8 and later) in ACPI tables. It has no power-off device: the guest ends it by rebooting
// (reboot=k, the i8042 reset), and isoprobe ends the run at the guest's DONE frame regardless.
import { existsSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

import type { ThreadNames } from '../cost/roles';
import { IsoprobeError } from '../errors';
import { hostArch } from '../paths';
import { extractVmlinux, kernelOption } from '../image/kernel';
import { versionOf, which } from './exec';
import { kvmGuestUnavailable } from './kvm';
import { VmTarget } from './vm';
import { type GuestProfile, type Launch, type LaunchContext, notPackaged, type Vmm } from './vmm';
import type { Availability } from './types';
import { atLeast, parseVersion } from './version';
import { checkSpec, type Refusals, settingDefault, type Settings, VM_SETTINGS } from './settings';

/** What a Firecracker guest can be set to (its drive's cache_type and io_engine). */
export const FIRECRACKER_SETTINGS: Settings = {
  ...VM_SETTINGS,
  host_cache: { def: { kind: 'enum', default: 'unsafe', choices: ['unsafe', 'writeback'], help: "host cache of the data disk (Firecracker's cache_type Unsafe or Writeback: it always goes through the host page cache, no O_DIRECT)" }, field: 'hostCache', flag: true },
  aio: { def: { kind: 'enum', default: 'Sync', choices: ['Sync', 'Async'], help: "Firecracker's io_engine of the data disk (Async: io_uring)" }, field: 'aio', flag: true },
};

/** How Firecracker names its threads (its sources): "fc_vcpu N", "fc_api"; the VMM thread is the process's own. */
export const FIRECRACKER_THREADS: ThreadNames = {
  threads: [{ name: /^fc_vcpu ?(\d+)$/, role: 'vcpu' }, { name: /^fc_api$/, role: 'vmm-api' }, { name: /^firecracker$/, role: 'vmm-main' }],
  main: 'vmm-main',
};

/** Settings of other VMMs that Firecracker has no way to honour. */
export const FIRECRACKER_REFUSES: Refusals = {
  queues: "Firecracker's virtio-blk and virtio-net devices have one queue (a request queue; an RX/TX pair), with no setting for more",
  vhost: 'Firecracker has no vhost-net backend (its virtio-net is served in its own process)',
  iothread: 'Firecracker has no iothreads (its devices are served by its VMM thread)',
  accel: 'Firecracker runs under KVM only',
  transport: 'Firecracker shows its devices on virtio-mmio only',
};

/** The first release that describes its virtio-mmio devices in ACPI (CHANGELOG 1.8.0). */
export const FIRECRACKER_ACPI = [1, 8, 0] as const;

export interface ApiCall {
  method: 'PUT';
  path: string;
  body: Record<string, unknown>;
}

/** The API calls that configure and start the guest, in order (documented in firecracker's swagger.yaml). */
export function firecrackerCalls(ctx: LaunchContext, vmlinux: string): ApiCall[] {
  // What Firecracker accepts is its declaration's (also for a context made without the variant parser).
  checkSpec('firecracker', { settings: FIRECRACKER_SETTINGS, refuses: FIRECRACKER_REFUSES }, ctx.spec, FIRECRACKER_SETTINGS);
  const cache = ctx.spec.hostCache ?? settingDefault<string>(FIRECRACKER_SETTINGS, 'host_cache');
  const engine = ctx.spec.aio ?? settingDefault<string>(FIRECRACKER_SETTINGS, 'aio');
  const calls: ApiCall[] = [
    { method: 'PUT', path: '/machine-config', body: { vcpu_count: ctx.vcpus, mem_size_mib: ctx.memMiB, smt: false } },
    // Firecracker adds virtio_mmio.device= for each device to these boot arguments.
    { method: 'PUT', path: '/boot-source', body: { kernel_image_path: vmlinux, initrd_path: ctx.initramfs, boot_args: ctx.cmdline } },
  ];
  if (ctx.dataFile) {
    calls.push({ method: 'PUT', path: '/drives/data', body: { drive_id: 'data', path_on_host: ctx.dataFile, is_root_device: false, is_read_only: false, cache_type: cache === 'unsafe' ? 'Unsafe' : 'Writeback', io_engine: engine } });
  }
  if (ctx.tap) calls.push({ method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', host_dev_name: ctx.tap, guest_mac: ctx.mac } });
  calls.push({ method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' } });
  return calls;
}

/** One API call; a socket that exists but does not accept yet (ECONNREFUSED) is tried again until `deadline`. */
async function callRetrying(socket: string, c: ApiCall, deadline: number): Promise<void> {
  for (;;) {
    try {
      return await call(socket, c);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'ECONNREFUSED' && code !== 'ENOENT') || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function call(socket: string, c: ApiCall): Promise<void> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(c.body);
    const req = request({ socketPath: socket, method: c.method, path: c.path, headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => {
        if (res.statusCode && res.statusCode < 300) resolve();
        else reject(new IsoprobeError('ERUNTIME', `Firecracker refused ${c.method} ${c.path} (${res.statusCode}): ${text.trim()}`));
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function waitForSocket(path: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > end) throw new IsoprobeError('ERUNTIME', `Firecracker did not create its API socket ${path} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Why this Firecracker cannot run isoprobe's guest with this kernel, or undefined: before 1.8 it
 * describes its devices only on the command line, which needs CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES.
 */
export function firecrackerVersionProblem(versionText: string, kernelHasCmdlineDevices: boolean): string | undefined {
  const v = parseVersion(versionText);
  if (!v) return `cannot read a version from "firecracker --version" (${versionText.trim() || 'no output'})`;
  if (atLeast(v, FIRECRACKER_ACPI) || kernelHasCmdlineDevices) return undefined;
  return `${versionText.trim()} is older than 1.8: it describes its virtio-mmio devices only on the kernel command line, and this guest kernel has no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, so the guest would see no disk and no network (use Firecracker 1.8 or later, or a kernel built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=y)`;
}

class Firecracker implements Vmm {
  readonly name = 'firecracker';
  readonly settings = FIRECRACKER_SETTINGS;
  readonly refuses = FIRECRACKER_REFUSES;
  readonly threads = FIRECRACKER_THREADS;
  readonly arch = hostArch();
  readonly description = 'Firecracker (HTTP API on a Unix socket; needs KVM)';

  async version(): Promise<string> {
    return (await versionOf(['firecracker', '--version'])) ?? 'unknown';
  }

  binary(): string {
    return 'firecracker';
  }

  guest(): GuestProfile {
    // x86-64: no power-off device, the guest's reboot (i8042 reset, reboot=k) ends it. aarch64:
    // PSCI power-off; its serial port is an 8250 UART too.
    return this.arch === 'arm64' ? { transport: 'mmio', exit: 'poweroff', console: 'ttyS0' } : { transport: 'mmio', exit: 'reboot' };
  }

  async available(): Promise<Availability> {
    if (!(await which('firecracker'))) return { ok: false, reason: notPackaged('firecracker', kvmGuestUnavailable()) };
    const version = await this.version();
    // The default guest kernel (Debian's cloud kernel) has no command-line devices.
    const problems = [firecrackerVersionProblem(version, false), kvmGuestUnavailable()].filter(Boolean);
    return problems.length ? { ok: false, version, reason: problems.join('; ') } : { ok: true, version };
  }

  async launch(ctx: LaunchContext): Promise<Launch> {
    const kvm = kvmGuestUnavailable();
    if (kvm) throw new IsoprobeError('EUNAVAILABLE', `firecracker: ${kvm}`);
    const cmdline = kernelOption(ctx.kernel, 'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES') === 'y';
    const acpi = kernelOption(ctx.kernel, 'CONFIG_ACPI');
    if (ctx.kernel.config && !cmdline && acpi !== 'y')
      throw new IsoprobeError('EKERNEL', `the kernel ${ctx.kernel.source} has neither CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES nor ACPI: it cannot find Firecracker's virtio-mmio devices`);
    const version = await this.version();
    const old = firecrackerVersionProblem(version, cmdline);
    if (old) throw new IsoprobeError('EUNAVAILABLE', `firecracker: ${old}`);
    const discovery = cmdline ? 'virtio_mmio.device= on the command line' : 'ACPI (Firecracker 1.8 or later)';
    // x86-64: the uncompressed ELF vmlinux; aarch64: the kernel's PE Image as it is.
    const vmlinux = this.arch === 'arm64' ? ctx.kernel.bzImage : extractVmlinux(ctx.kernel.bzImage);
    const socket = join(ctx.workDir, 'firecracker.sock');
    // Its own log goes to a file: on stdout it would mix with the serial console that carries the frames.
    const log = join(ctx.workDir, 'firecracker.log');
    writeFileSync(log, '');
    const calls = firecrackerCalls(ctx, vmlinux);
    const drive = calls.find((c) => c.path.startsWith('/drives/'))?.body;
    return {
      argv: ['firecracker', '--api-sock', socket, '--id', 'isoprobe', '--level', 'Warning', '--log-path', log],
      afterSpawn: async () => {
        await waitForSocket(socket, 10_000);
        const deadline = Date.now() + 10_000;
        for (const c of calls) await callRetrying(socket, c, deadline);
      },
      diskCache: drive ? `Firecracker cache_type=${drive.cache_type} io_engine=${drive.io_engine} (file opened without O_DIRECT: the host page cache serves the guest)` : 'none',
      emulated: false,
      accel: `KVM; devices found through ${discovery}`,
      config: calls,
    };
  }
}

export const FIRECRACKER: Vmm = new Firecracker();

export function firecrackerTarget(): VmTarget {
  return new VmTarget(FIRECRACKER);
}
