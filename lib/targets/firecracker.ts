// Firecracker through its HTTP API on a Unix socket: machine-config, boot-source, drives,
// network-interfaces, then InstanceStart. It boots an uncompressed ELF vmlinux (extracted from the
// bzImage) and finds its virtio-mmio devices through virtio_mmio.device= on the command line.
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';

import { IsoprobeError } from '../errors';
import { extractVmlinux, kernelOption } from '../image/kernel';
import { versionOf, which } from './exec';
import { kvmUnavailable, type Launch, type LaunchContext, type Vmm, VmTarget } from './vm';
import type { Availability } from './types';

export interface ApiCall {
  method: 'PUT';
  path: string;
  body: Record<string, unknown>;
}

/** The API calls that configure and start the guest, in order (documented in firecracker's swagger.yaml). */
export function firecrackerCalls(ctx: LaunchContext, vmlinux: string): ApiCall[] {
  const cache = ctx.spec.hostCache ?? 'unsafe';
  if (cache !== 'unsafe' && cache !== 'writeback')
    throw new IsoprobeError('EINVALOPT', `hostCache "${cache}": Firecracker offers cache_type Unsafe or Writeback, and always goes through the host page cache (no O_DIRECT)`, { option: 'host_cache' });
  const engine = (ctx.spec.aio as string | undefined) ?? 'Sync';
  if (engine !== 'Sync' && engine !== 'Async') throw new IsoprobeError('EINVALOPT', `aio "${engine}": Firecracker's io_engine is Sync or Async`, { option: 'aio' });
  const calls: ApiCall[] = [
    { method: 'PUT', path: '/machine-config', body: { vcpu_count: ctx.vcpus, mem_size_mib: ctx.memMiB, smt: false } },
    // Firecracker adds virtio_mmio.device= for each device to these boot arguments.
    { method: 'PUT', path: '/boot-source', body: { kernel_image_path: vmlinux, initrd_path: ctx.initramfs, boot_args: `${ctx.cmdline} reboot=k pci=off` } },
  ];
  if (ctx.dataFile) {
    calls.push({ method: 'PUT', path: '/drives/data', body: { drive_id: 'data', path_on_host: ctx.dataFile, is_root_device: false, is_read_only: false, cache_type: cache === 'unsafe' ? 'Unsafe' : 'Writeback', io_engine: engine } });
  }
  if (ctx.tap) calls.push({ method: 'PUT', path: '/network-interfaces/eth0', body: { iface_id: 'eth0', host_dev_name: ctx.tap, guest_mac: ctx.mac } });
  calls.push({ method: 'PUT', path: '/actions', body: { action_type: 'InstanceStart' } });
  return calls;
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

class Firecracker implements Vmm {
  readonly name = 'firecracker';
  readonly description = 'Firecracker (HTTP API on a Unix socket; needs KVM)';

  async version(): Promise<string> {
    return (await versionOf(['firecracker', '--version'])) ?? 'unknown';
  }

  async available(): Promise<Availability> {
    const missing: string[] = [];
    if (!(await which('firecracker'))) missing.push('firecracker is not installed (it is not packaged in Debian 12; put the release binary on PATH)');
    const kvm = kvmUnavailable();
    if (kvm) missing.push(`${kvm}; Firecracker needs KVM`);
    return missing.length ? { ok: false, reason: missing.join('; ') } : { ok: true, version: await this.version() };
  }

  async launch(ctx: LaunchContext): Promise<Launch> {
    const kvm = kvmUnavailable();
    if (kvm) throw new IsoprobeError('EUNAVAILABLE', `firecracker: ${kvm}`);
    // Firecracker describes its virtio-mmio devices with virtio_mmio.device= on the command line,
    // and since v1.8 also in ACPI tables. A kernel without CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES
    // (Debian's cloud kernel) finds them only through ACPI, i.e. with Firecracker 1.8 or later.
    const cmdline = kernelOption(ctx.kernel, 'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES');
    const acpi = kernelOption(ctx.kernel, 'CONFIG_ACPI');
    if (ctx.kernel.config && !cmdline && acpi !== 'y')
      throw new IsoprobeError('EKERNEL', `the kernel ${ctx.kernel.source} has neither CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES nor ACPI: it cannot find Firecracker's virtio-mmio devices`);
    const discovery = cmdline ? 'virtio_mmio.device= on the command line' : 'ACPI (needs Firecracker 1.8 or later: this kernel has no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES)';
    const vmlinux = extractVmlinux(ctx.kernel.bzImage);
    const socket = join(ctx.workDir, 'firecracker.sock');
    const calls = firecrackerCalls(ctx, vmlinux);
    const drive = calls.find((c) => c.path.startsWith('/drives/'))?.body;
    return {
      argv: ['firecracker', '--api-sock', socket, '--id', 'isoprobe'],
      afterSpawn: async () => {
        await waitForSocket(socket, 10_000);
        for (const c of calls) await call(socket, c);
      },
      diskCache: drive ? `Firecracker cache_type=${drive.cache_type} io_engine=${drive.io_engine} (file opened without O_DIRECT: the host page cache serves the guest)` : 'none',
      emulated: false,
      accel: `KVM; devices found through ${discovery}`,
      config: calls,
    };
  }
}

export function firecrackerTarget(): VmTarget {
  return new VmTarget(new Firecracker());
}
