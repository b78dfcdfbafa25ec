// The guest image: a kernel and an initramfs whose /init is the static probe itself, with the
// virtio modules beside it and the plan it runs. Rebuilt per run (it is a few MiB of memory
// copies); the kernel is cached.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

import { IsoprobeError } from '../errors';
import { probeBinaryPath } from '../paths';
import { cpio, type CpioEntry } from './cpio';
import { type GuestKernel, kernelOption, MODULE_OPTION, type Transport, virtioModules } from './kernel';

function moduleBytes(path: string): Buffer {
  // finit_module of a compressed module needs kernel support; decompressing here always works.
  if (path.endsWith('.xz')) return execFileSync('xz', ['-dc', path], { maxBuffer: 64 << 20 });
  if (path.endsWith('.zst')) return execFileSync('zstd', ['-dc', path], { maxBuffer: 64 << 20 });
  if (path.endsWith('.gz')) return execFileSync('gzip', ['-dc', path], { maxBuffer: 64 << 20 });
  return readFileSync(path);
}

/** What the guest needs for a transport that this kernel neither builds in nor ships as a module. */
export function missingDrivers(k: GuestKernel, transport: Transport = 'mmio'): string[] {
  const missing: string[] = [];
  for (const name of [transport === 'mmio' ? 'virtio_mmio' : 'virtio_pci', 'virtio_blk', 'virtio_net']) {
    if (k.modules.some((m) => m.name === name)) continue;
    const opt = kernelOption(k, MODULE_OPTION[name]!);
    if (opt === 'y') continue;
    if (k.config || k.modules.length) missing.push(name);
  }
  return missing;
}

export interface Initramfs {
  path: string;
  bytes: number;
  modules: string[];
}

/**
 * Writes an initramfs: /init (the probe), /modules/*.ko + order for the VMM's transport (virtio-mmio
 * or virtio-pci), /plan, and /dev/console.
 */
export function writeInitramfs(path: string, kernel: GuestKernel, plan: string[], probe = probeBinaryPath(), transport: Transport = 'mmio'): Initramfs {
  const missing = missingDrivers(kernel, transport);
  if (missing.length)
    throw new IsoprobeError('EKERNEL', `the kernel ${kernel.source} has no ${missing.join(', ')} for virtio-${transport} (neither built in nor as a module); see guest-image/microvm.config`);
  const byName = new Map(kernel.modules.map((m) => [m.name, m.path]));
  const order = virtioModules(transport).filter((n) => byName.has(n));
  const entries: CpioEntry[] = [
    { name: 'dev', type: 'dir', mode: 0o755 },
    { name: 'dev/console', type: 'chardev', mode: 0o600, rdev: [5, 1] },
    { name: 'proc', type: 'dir', mode: 0o555 },
    { name: 'sys', type: 'dir', mode: 0o555 },
    { name: 'tmp', type: 'dir', mode: 0o1777 },
    { name: 'modules', type: 'dir', mode: 0o755 },
    ...order.map((n) => ({ name: `modules/${n}.ko`, type: 'file' as const, mode: 0o644, data: moduleBytes(byName.get(n)!) })),
    { name: 'modules/order', type: 'file', mode: 0o644, data: Buffer.from(order.join('\n') + '\n') },
    { name: 'plan', type: 'file', mode: 0o644, data: Buffer.from(plan.join('\n') + '\n') },
    { name: 'init', type: 'file', mode: 0o755, data: readFileSync(probe) },
  ];
  const buf = cpio(entries);
  writeFileSync(path, buf, { mode: 0o600 });
  return { path, bytes: buf.length, modules: order };
}
