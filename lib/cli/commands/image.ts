// isoprobe image build: fetch or build the guest kernel and say what each VMM needs of it.
import { IsoprobeError } from '../../errors';
import { missingDrivers } from '../../image/guest';
import { debianCloudKernel, extractVmlinux, type GuestKernel, kernelOption, userKernel } from '../../image/kernel';
import { buildGuestKernel, FRAGMENT, KERNEL_SOURCES } from '../../image/kernel-build';
import type { Arch } from '../../paths';
import { oneOf, parseCommand, type Table } from '../args';
import { COMMON, messageOf } from '../common';
import type { Reporter } from '../reporter';
import { sweepFirst } from '../sweep-first';

const IMAGE_OPTIONS = {
  kernel: { kind: 'string', default: '', help: 'a guest kernel of your own, bzImage or vmlinux', defaultText: "Debian's cloud kernel, fetched with apt-get download" },
  kernel_source: oneOf(['', ...KERNEL_SOURCES], '', `build a minimal guest kernel from Debian's linux-source-X with ${FRAGMENT} (minutes; cached)`),
  modules: { kind: 'string', default: '', help: 'with --kernel: its lib/modules/VERSION directory, when virtio is modular' },
  arch: oneOf(['', 'x64', 'arm64'], '', "the guest's architecture (arm64: Debian's arm64 cloud kernel, for qemu-virt)", 'x64'),
  json: COMMON.json,
} satisfies Table;
const IMAGE_HEAD = ['usage: isoprobe image build [options]', '', 'Prepares the guest kernel and says what each VMM needs of it.'];

export async function cmdImage(argv: string[], io: Reporter, signal: AbortSignal): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'build') {
    parseCommand(['--help'], IMAGE_OPTIONS, 'image build', IMAGE_HEAD, io.out);
    return sub === undefined || sub === '--help' ? 0 : 2;
  }
  const p = parseCommand(rest, IMAGE_OPTIONS, 'image build', IMAGE_HEAD, io.out);
  if (!p) return 0;
  const { values } = p;
  if (values.kernel && values.kernel_source) throw new IsoprobeError('EINVALOPT', '--kernel-source: give either --kernel (a file of yours) or --kernel-source (one built here)', { option: 'kernel_source' });
  const arch: Arch = values.arch || 'x64';
  if (arch === 'arm64' && values.kernel_source) throw new IsoprobeError('EINVALOPT', '--kernel-source with --arch arm64: guest kernels built from source are x86-64 only for now; an arm64 guest boots Debian\'s arm64 cloud kernel', { option: 'kernel_source' });
  let k: GuestKernel;
  let built: { cached: boolean } | undefined;
  await sweepFirst(io);
  if (values.kernel_source) {
    const tty = io.tty;
    const b = await buildGuestKernel(values.kernel_source, {
      signal, onProgress: (l) => (tty ? io.progress(`\r\x1b[K${l}`) : io.err(l)), progressEveryMs: tty ? 1000 : 10_000,
    });
    if (tty) io.progress('\r\x1b[K');
    built = b;
    k = b;
  } else k = values.kernel ? userKernel(values.kernel, values.modules || undefined) : debianCloudKernel(arch);
  const missing = missingDrivers(k);
  const cmdlineDevices = kernelOption(k, 'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES');
  let vmlinux: string | undefined;
  let vmlinuxError: string | undefined;
  try {
    // arm64 kernels are booted as their Image by QEMU virt, Firecracker and Cloud Hypervisor alike.
    vmlinux = arch === 'arm64' ? k.bzImage : extractVmlinux(k.bzImage);
  } catch (e) {
    vmlinuxError = messageOf(e);
  }
  const info = {
    arch,
    kernel: k.version, source: k.source, bzImage: k.bzImage, vmlinux: vmlinux ?? null, vmlinux_error: vmlinuxError,
    ...(built ? { cached: built.cached } : {}),
    modules: k.modules.map((m) => m.name), missing_drivers: missing,
    virtio_mmio_cmdline_devices: cmdlineDevices ?? (k.config ? 'not set' : 'unknown'),
  };
  if (values.json) io.out(JSON.stringify(info, null, 2));
  else {
    io.out(`guest kernel  ${info.kernel} (${info.source})${built ? (built.cached ? ', from the cache' : ', built now') : ''}`);
    if (arch === 'arm64') io.out(`  Image       ${info.bzImage}   (QEMU virt, Firecracker and Cloud Hypervisor on arm64)`);
    else {
      io.out(`  bzImage     ${info.bzImage}   (QEMU microvm)`);
      io.out(`  vmlinux     ${info.vmlinux ?? `not extracted: ${vmlinuxError}`}   (Firecracker, Cloud Hypervisor)`);
    }
    io.out(`  modules     ${info.modules.join(' -> ') || 'none (drivers built in)'}`);
    io.out(`  virtio-mmio devices from the command line (Firecracker): CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES=${info.virtio_mmio_cmdline_devices}`);
    io.out(missing.length ? `  MISSING     ${missing.join(', ')}: this kernel cannot run the probe's workloads` : '  the initramfs (/init = the static probe) is built per run from these');
  }
  return missing.length ? 1 : 0;
}
