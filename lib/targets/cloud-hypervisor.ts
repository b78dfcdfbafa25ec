// Cloud Hypervisor from its command line: --kernel, --initramfs, --cmdline, --disk path=,direct=,
// --net tap=, serial on stdout. Needs KVM.
import { IsoprobeError } from '../errors';
import { extractVmlinux } from '../image/kernel';
import { versionOf, which } from './exec';
import { kvmUnavailable, type Launch, type LaunchContext, type Vmm, VmTarget } from './vm';
import type { Availability } from './types';

export const CLOUD_HYPERVISOR = 'cloud-hypervisor';

export function cloudHypervisorArgs(ctx: LaunchContext, kernel: string): { args: string[]; diskCache: string } {
  const cache = ctx.spec.hostCache ?? 'none';
  if (cache !== 'none' && cache !== 'writeback') throw new IsoprobeError('EINVALOPT', `hostCache "${cache}": Cloud Hypervisor offers direct=on (none) or direct=off (writeback)`, { option: 'host_cache' });
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
  if (ctx.dataFile) args.push('--disk', `path=${ctx.dataFile},direct=${direct}`);
  if (ctx.tap) args.push('--net', `tap=${ctx.tap},mac=${ctx.mac}`);
  return { args, diskCache: `Cloud Hypervisor direct=${direct} (${direct === 'on' ? 'O_DIRECT: the host page cache is bypassed' : 'through the host page cache'})` };
}

class CloudHypervisor implements Vmm {
  readonly name = 'cloud-hypervisor';
  readonly description = 'Cloud Hypervisor (command line; needs KVM)';

  async version(): Promise<string> {
    return (await versionOf([CLOUD_HYPERVISOR, '--version'])) ?? 'unknown';
  }

  async available(): Promise<Availability> {
    const missing: string[] = [];
    if (!(await which(CLOUD_HYPERVISOR))) missing.push(`${CLOUD_HYPERVISOR} is not installed (it is not packaged in Debian 12; put the release binary on PATH)`);
    const kvm = kvmUnavailable();
    if (kvm) missing.push(`${kvm}; Cloud Hypervisor needs KVM`);
    return missing.length ? { ok: false, reason: missing.join('; ') } : { ok: true, version: await this.version() };
  }

  async launch(ctx: LaunchContext): Promise<Launch> {
    const kvm = kvmUnavailable();
    if (kvm) throw new IsoprobeError('EUNAVAILABLE', `cloud-hypervisor: ${kvm}`);
    // Cloud Hypervisor boots an ELF vmlinux through its PVH entry point.
    const c = cloudHypervisorArgs(ctx, extractVmlinux(ctx.kernel.bzImage));
    return { argv: [CLOUD_HYPERVISOR, ...c.args], diskCache: c.diskCache, emulated: false, accel: 'KVM' };
  }
}

export function cloudHypervisorTarget(): VmTarget {
  return new VmTarget(new CloudHypervisor());
}
