// What Firecracker and Cloud Hypervisor show their guest, reproduced with QEMU on this machine
// (neither can run here): a VM that cannot be powered off from inside (Firecracker), and virtio
// over PCI (Cloud Hypervisor). Plus their version gates, with stand-in executables that print
// real version strings, and a vmlinux given as the kernel.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { debianCloudKernel, extractVmlinux } from '../../lib/image/kernel';
import { probeBinaryPath } from '../../lib/paths';
import type { BlockResult, NetResult } from '../../lib/probe/types';
import { makeTarget } from '../../lib/targets';
import { cloudHypervisorArgs } from '../../lib/targets/cloud-hypervisor';
import { firecrackerCalls, firecrackerVersionProblem } from '../../lib/targets/firecracker';
import { findLeftovers } from '../../lib/targets/leftovers';
import type { TargetResult } from '../../lib/targets/types';
import { guestCommandLine, type LaunchContext, type VmSpec } from '../../lib/targets/vm';
import { fincoreBytes, runCli, sha256sum, targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const SHORT = { duration: '300ms', warmup: '50ms' };
const qemuSkip = targetSkips(['qemu-microvm']).get('qemu-microvm');
const MINE = `isoprobe-qemu-microvm-${process.pid.toString(36)}-`;
const myQemus = () => {
  try {
    return execFileSync('pgrep', ['-af', 'qemu-system-x86_64'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(MINE));
  } catch {
    return [];
  }
};
type Booted = TargetResult & { boot: { ended_by: string; vmm_start_to_first_result_ns: number; vmm_start_to_exit_ns: number } };

testIf(qemuSkip, test.serial)('a VMM the guest cannot power off (QEMU microvm without ACPI, like Firecracker): the run ends at the result, the VMM is stopped' + why(qemuSkip), async (t) => {
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: false, acpi: false, bootTimeoutS: 30 } as VmSpec);
  try {
    const r = (await s.run({ kind: 'rr', options: SHORT, placement: 'loopback' })) as Booted & NetResult;
    t.true(r.transactions > 0);
    // Not the boot limit (that is an error, not a result): isoprobe ended it after DONE. How soon
    // after the result is a timing test (test/timing/targets.test.ts).
    t.is(r.boot.ended_by, 'isoprobe after DONE', 'the guest halted instead of powering off; isoprobe stopped the VMM');
    t.true(r.target.command!.join(' ').includes('acpi=off'));
  } finally {
    await s.stop();
  }
  t.deepEqual(myQemus(), [], 'no QEMU of this run left');
  t.deepEqual((await findLeftovers(process.pid)).net, []);
});

testIf(qemuSkip, test.serial)('with ACPI the guest powers the VM off itself (the control)' + why(qemuSkip), async (t) => {
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: false } as VmSpec);
  try {
    const r = (await s.run({ kind: 'rr', options: SHORT, placement: 'loopback' })) as Booted;
    t.is(r.boot.ended_by, 'guest');
  } finally {
    await s.stop();
  }
});

testIf(qemuSkip, test.serial)("the guest image for Cloud Hypervisor's transport (virtio-pci, no pci=off) boots on QEMU's PCIe: block with cache honesty, TCP RR" + why(qemuSkip), async (t) => {
  const dataFile = join(tmp.dir, 'pci.dat');
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', transport: 'pci', dataFile, dataSize: 16 << 20, network: true } as VmSpec);
  try {
    const b = (await s.run({ kind: 'block', options: { direct: true, size: '16M', pattern: 'randread', ...SHORT } })) as TargetResult & BlockResult;
    const cmd = b.target.command!.join(' ');
    t.regex(cmd, /virtio-blk-pci,drive=data/, 'the disk is a PCI device');
    t.notRegex(cmd, /virtio-blk-device|virtio-net-device/, 'no virtio-mmio devices at all');
    t.notRegex(cmd, /pci=off/);
    t.true(b.ops > 0, 'block I/O went through virtio-blk-pci');
    t.true(b.latency_ns.min > 0);
    t.is(b.probe.sha256, sha256sum(probeBinaryPath()));
    t.is(b.host_page_cache!.mode, 'bypassed');
    t.is(fincoreBytes(dataFile), 0, 'fincore agrees: cache=none left nothing resident');
    const r = (await s.run({ kind: 'rr', options: SHORT, placement: 'client-inside' })) as TargetResult & NetResult;
    t.true(r.transactions > 10, 'TCP RR through virtio-net-pci');
    t.is(r.errors.mismatches, 0);
  } finally {
    await s.stop();
  }
  t.deepEqual(myQemus(), []);
});

function standIn(name: string, versionLine: string): string {
  const dir = join(tmp.dir, `bin-${name}-${versionLine.replace(/\W+/g, '_')}`);
  require('node:fs').mkdirSync(dir, { recursive: true });
  const f = join(dir, name);
  writeFileSync(f, `#!/bin/sh\necho "${versionLine}"\n`);
  chmodSync(f, 0o755);
  return dir;
}

async function availableWith(name: 'firecracker' | 'cloud-hypervisor', versionLine: string) {
  const saved = process.env.PATH;
  process.env.PATH = `${standIn(name, versionLine)}:${saved}`;
  try {
    return await makeTarget(name).available();
  } finally {
    process.env.PATH = saved;
  }
}

test.serial('Firecracker before 1.8 is refused with the version and the reason; 1.8 and later are not refused for it', async (t) => {
  const old = await availableWith('firecracker', 'Firecracker v1.7.0');
  t.false(old.ok);
  t.regex(old.reason!, /Firecracker v1\.7\.0 is older than 1\.8: it describes its virtio-mmio devices only on the kernel command line, and this guest kernel has no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES/);
  const now = await availableWith('firecracker', 'Firecracker v1.10.1');
  t.notRegex(now.reason ?? '', /older than/);
  t.is(now.version, 'Firecracker v1.10.1');
  // Without a guest that can run under KVM, no version makes it available (here: nested KVM fails).
  if (!now.ok) t.regex(now.reason!, /kvm|KVM/);
  t.is(firecrackerVersionProblem('Firecracker v1.7.0', true), undefined, 'a kernel with command-line devices works with 1.7');
  t.regex(firecrackerVersionProblem('nonsense', false)!, /cannot read a version/);
});

test.serial('Cloud Hypervisor v48 and older are refused (the default tap address); image_type=raw from v51 on', async (t) => {
  const old = await availableWith('cloud-hypervisor', 'cloud-hypervisor v48.0.0');
  t.false(old.ok);
  t.regex(old.reason!, /cloud-hypervisor v48\.0\.0 puts a default address 192\.168\.249\.1\/24 on a tap/);
  const v50 = await availableWith('cloud-hypervisor', 'cloud-hypervisor v50.0.0');
  t.notRegex(v50.reason ?? '', /192\.168/);
  const ctx = { kernel: { version: 'v', bzImage: '/k', modules: [], source: 't' }, initramfs: '/i', cmdline: 'c', dataFile: '/d.dat', mac: '02:00:00:00:00:01', vcpus: 1, memMiB: 128, workDir: '/w', spec: {} } as LaunchContext;
  const disk = (v: number[]) => { const a = cloudHypervisorArgs(ctx, '/k', v).args; return a[a.indexOf('--disk') + 1]; };
  t.is(disk([50, 0, 0]), 'path=/d.dat,direct=on', 'v50 does not know image_type');
  t.is(disk([51, 0, 0]), 'path=/d.dat,direct=on,image_type=raw', 'v51 would refuse sector-0 writes without it');
  t.is(disk([53, 1, 0]), 'path=/d.dat,direct=on,image_type=raw');
});

test('each VMM gets the command line for its exit and transport', (t) => {
  t.is(guestCommandLine({ transport: 'mmio', exit: 'reboot' }), 'console=ttyS0 quiet panic=-1 reboot=k pci=off isoprobe isoprobe.exit=reboot');
  t.is(guestCommandLine({ transport: 'pci', exit: 'poweroff' }), 'console=ttyS0 quiet panic=-1 reboot=t isoprobe isoprobe.exit=poweroff');
  const ctx = { kernel: { version: 'v', bzImage: '/k', modules: [], source: 't' }, initramfs: '/i', cmdline: guestCommandLine({ transport: 'mmio', exit: 'reboot' }), mac: 'm', vcpus: 1, memMiB: 128, workDir: '/w', spec: {} } as LaunchContext;
  const boot = firecrackerCalls(ctx, '/k/vmlinux').find((c) => c.path === '/boot-source')!.body;
  t.is(boot.boot_args, ctx.cmdline, 'Firecracker gets one reboot= (k: the i8042 reset it exits on)');
});

testIf(qemuSkip, test.serial)('a vmlinux given as the kernel is used as it is (image build no longer refuses it)' + why(qemuSkip), (t) => {
  const vmlinux = extractVmlinux(debianCloudKernel().bzImage);
  t.is(extractVmlinux(vmlinux), vmlinux, 'an ELF kernel is its own vmlinux');
  const r = runCli(['image', 'build', '--kernel', vmlinux, '--json']);
  const j = JSON.parse(r.stdout);
  t.is(j.vmlinux, vmlinux);
  t.falsy(j.vmlinux_error);
});
