// Guest kernels: Debian's cloud kernel fetched with apt-get download and unpacked into a cache, or
// a kernel the user gives. Also: the virtio modules and their load order, the uncompressed ELF
// vmlinux Firecracker needs, and the config facts that decide whether a VMM can find its devices.
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';

import { IsoprobeError } from '../errors';
import { withLockSync } from '../probe/lock';
import type { Arch } from '../paths';

/**
 * How the guest finds its virtio devices: virtio-mmio (QEMU microvm, Firecracker) or PCI (Cloud
 * Hypervisor exposes virtio over PCI only; QEMU can too, for testing that guest image).
 */
export type Transport = 'mmio' | 'pci';

/** The modules a microVM guest needs for a transport, in dependency order (virtio_ring first, virtio_net last). */
export function virtioModules(transport: Transport): readonly string[] {
  const bus = transport === 'mmio' ? ['virtio_mmio'] : ['virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_pci'];
  return ['virtio_ring', 'virtio', ...bus, 'virtio_blk', 'failover', 'net_failover', 'virtio_net'];
}

/** Every module either transport may need: what the kernel cache keeps. */
export const VIRTIO_MODULES: readonly string[] = [...new Set([...virtioModules('mmio'), ...virtioModules('pci')])];

/** The kernel option behind each module, for kernels that build the driver in. */
export const MODULE_OPTION: Record<string, string> = {
  virtio_ring: 'CONFIG_VIRTIO', virtio: 'CONFIG_VIRTIO', virtio_mmio: 'CONFIG_VIRTIO_MMIO', virtio_pci: 'CONFIG_VIRTIO_PCI',
  virtio_pci_modern_dev: 'CONFIG_VIRTIO_PCI_LIB', virtio_pci_legacy_dev: 'CONFIG_VIRTIO_PCI_LIB_LEGACY',
  virtio_blk: 'CONFIG_VIRTIO_BLK', virtio_net: 'CONFIG_VIRTIO_NET', failover: 'CONFIG_FAILOVER', net_failover: 'CONFIG_NET_FAILOVER',
};

/** Bumped when the cache keeps other files: older entries are fetched again (format 2: the virtio-pci modules). */
const CACHE_FORMAT = 'format 2';

export interface GuestKernel {
  version: string;
  /** bzImage (QEMU, Cloud Hypervisor). */
  bzImage: string;
  /** Modules to pack, in load order: name -> .ko path. Empty when the drivers are built in. */
  modules: { name: string; path: string }[];
  /** The kernel's .config when known. */
  config?: string;
  source: string;
}

export function cacheDir(): string {
  return process.env.ISOPROBE_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'isoprobe');
}

function sh(argv: string[], what: string, cwd?: string): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', cwd, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new IsoprobeError('EKERNEL', `${what}: ${argv.join(' ')} failed: ${(err.stderr || err.message).trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** Config value of a kernel option: 'y', 'm', or undefined when unset/unknown. */
export function kernelOption(k: GuestKernel, option: string): string | undefined {
  if (!k.config) return undefined;
  const m = new RegExp(`^${option}=(.*)$`, 'm').exec(readFileSync(k.config, 'utf8'));
  return m?.[1];
}

// A package carries no modules.dep (depmod writes it at install time): walk the tree.
function findModule(modRoot: string, name: string): string | undefined {
  const stack = [modRoot];
  while (stack.length) {
    const dir = stack.pop()!;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (e.isDirectory()) stack.push(join(dir, e.name));
      else if (/\.ko(\.(xz|zst|gz))?$/.test(e.name) && e.name.replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_') === name) return join(dir, e.name);
    }
  }
  return undefined;
}

/** Packs a kernel tree unpacked from a .deb (boot/vmlinuz-V, lib/modules/V). */
function fromTree(root: string, source: string): GuestKernel {
  const boot = join(root, 'boot');
  const vmlinuz = readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new IsoprobeError('EKERNEL', `no vmlinuz-* in ${boot}`);
  const version = vmlinuz.slice('vmlinuz-'.length);
  const modRoot = join(root, 'lib', 'modules', version);
  const modules: GuestKernel['modules'] = [];
  const config = join(boot, `config-${version}`);
  for (const name of VIRTIO_MODULES) {
    const p = existsSync(modRoot) ? findModule(modRoot, name) : undefined;
    if (p) modules.push({ name, path: p });
  }
  return { version, bzImage: join(boot, vmlinuz), modules, config: existsSync(config) ? config : undefined, source };
}

/**
 * Debian's cloud kernel, cached: `apt-get download` of the package that linux-image-cloud-amd64
 * depends on, unpacked with dpkg-deb. Only the kernel, its config and the virtio modules are kept.
 */
export function debianCloudKernel(arch: Arch = 'x64'): GuestKernel {
  const base = join(cacheDir(), arch === 'x64' ? 'kernels' : `kernels-${arch}`);
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const cached = cachedKernel(base, arch);
  if (cached) return cached;
  // Two runs filling the cache at once would each replace the other's tree under it.
  return withLockSync(`cache:${base}`, { what: `the guest kernel cache ${base}` }, () => cachedKernel(base, arch) ?? fetchKernel(base, arch));
}

/** Debian's cloud kernel metapackage of an architecture (arm64: from the arm64 archive, added by setup.sh arm64). */
function cloudPackage(arch: Arch): string {
  return arch === 'x64' ? 'linux-image-cloud-amd64' : 'linux-image-cloud-arm64:arm64';
}

function cachedKernel(base: string, arch: Arch): GuestKernel | undefined {
  const ready = readdirSync(base).filter((d) => existsSync(join(base, d, '.complete')) && readFileSync(join(base, d, '.complete'), 'utf8').includes(CACHE_FORMAT));
  if (ready.length) return fromTree(join(base, ready.sort().pop()!), `Debian ${cloudPackage(arch).replace(/:.*/, '')} (cached)`);
  return undefined;
}

function fetchKernel(base: string, arch: Arch): GuestKernel {
  const meta = cloudPackage(arch);
  const deps = sh(['apt-cache', 'depends', meta], 'finding the cloud kernel package');
  const pkg = /Depends: (linux-image-[^\s]+-cloud-(?:amd64|arm64)(?:-unsigned)?(?::arm64)?)/.exec(deps)?.[1];
  if (!pkg) throw new IsoprobeError('EKERNEL', `apt-cache knows no ${meta} (run apt-get update first${arch === 'arm64' ? '; arm64 packages need dpkg --add-architecture arm64, which scripts/setup.sh arm64 does' : ''})`);
  const work = join(base, `.download-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    sh(['apt-get', 'download', pkg], `downloading ${pkg}`, work);
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'))!;
    const tree = join(work, 'tree');
    sh(['dpkg-deb', '-x', join(work, deb), tree], `unpacking ${deb}`);
    const k = fromTree(tree, `Debian ${pkg}`);
    const dest = join(base, k.version);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(join(dest, 'boot'), { recursive: true });
    mkdirSync(join(dest, 'lib', 'modules', k.version), { recursive: true });
    renameSync(k.bzImage, join(dest, 'boot', basename(k.bzImage)));
    if (k.config) renameSync(k.config, join(dest, 'boot', basename(k.config)));
    const modRoot = join(tree, 'lib', 'modules', k.version);
    for (const m of k.modules) {
      const rel = m.path.slice(modRoot.length + 1);
      mkdirSync(join(dest, 'lib', 'modules', k.version, rel, '..'), { recursive: true });
      renameSync(m.path, join(dest, 'lib', 'modules', k.version, rel));
    }
    writeFileSync(join(dest, '.complete'), `${pkg}\n${CACHE_FORMAT}\n`);
    return fromTree(dest, `Debian ${pkg}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** A kernel the user gives: a bzImage or vmlinux, with a module tree beside it or none. */
export function userKernel(path: string, modulesDir?: string): GuestKernel {
  if (!existsSync(path)) throw new IsoprobeError('EINVALOPT', `--kernel ${path}: no such file`, { option: 'kernel' });
  const modules: GuestKernel['modules'] = [];
  if (modulesDir) {
    for (const name of VIRTIO_MODULES) {
      const p = findModule(modulesDir, name);
      if (p) modules.push({ name, path: p });
    }
  }
  return { version: basename(path), bzImage: path, modules, source: `user kernel ${path}` };
}

const ELF_MAGIC = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const isElf = (b: Buffer | undefined): b is Buffer => !!b && b.subarray(0, 4).equals(ELF_MAGIC);

/** The first bytes of a file (its magic), without reading the rest. */
function head(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

const MAGICS: { name: string; magic: Buffer; cmd: string[] }[] = [
  { name: 'lz4', magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]), cmd: ['lz4', '-dc'] },
  { name: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), cmd: ['xz', '-dc'] },
  { name: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), cmd: ['zstd', '-dc'] },
  { name: 'gzip', magic: Buffer.from([0x1f, 0x8b, 0x08]), cmd: ['gzip', '-dc'] },
];

/**
 * The uncompressed ELF vmlinux inside a bzImage (what Firecracker boots), found the way the
 * kernel's scripts/extract-vmlinux does: try each compressor's magic, keep the first output that
 * is an ELF file. Cached beside the bzImage.
 */
export function extractVmlinux(bzImage: string): string {
  // Already an uncompressed ELF kernel (a vmlinux the user gave, or one built from source).
  if (isElf(head(bzImage, ELF_MAGIC.length))) return bzImage;
  const out = `${bzImage}.vmlinux`;
  if (existsSync(out)) return out;
  const img = readFileSync(bzImage);
  for (const m of MAGICS) {
    let at = img.indexOf(m.magic);
    while (at >= 0) {
      try {
        const elf = execFileSync(m.cmd[0]!, m.cmd.slice(1), { input: img.subarray(at), maxBuffer: 512 << 20, stdio: ['pipe', 'pipe', 'ignore'] });
        if (isElf(elf)) {
          writeFileSync(out, elf, { mode: 0o600 });
          return out;
        }
      } catch (e) {
        // A compressor that stops with trailing garbage still printed the kernel; keep it then.
        const stdout = (e as { stdout?: Buffer }).stdout;
        if (isElf(stdout)) {
          writeFileSync(out, stdout, { mode: 0o600 });
          return out;
        }
      }
      at = img.indexOf(m.magic, at + 1);
    }
  }
  throw new IsoprobeError('EKERNEL', `no compressed ELF kernel found in ${bzImage} (tried ${MAGICS.map((m) => m.name).join(', ')}; the lz4 tool comes from Debian package lz4)`);
}
