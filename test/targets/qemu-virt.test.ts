// arm64 guests: QEMU -M virt (TCG here, labelled emulated) booting Debian's arm64 cloud kernel with
// the aarch64 probe as /init: block with fincore-checked cache honesty, TCP RR through the tap, the
// probe's SHA-256 measured inside the guest, and a comparison that includes it beside the host.
import test from 'ava';
import { join } from 'node:path';

import { compare } from '../../lib/compare/compare';
import { probeBinaryPath } from '../../lib/paths';
import type { BlockResult, NetResult } from '../../lib/probe/types';
import { makeTarget } from '../../lib/targets';
import { virtArgs } from '../../lib/targets/qemu-virt';
import type { TargetResult } from '../../lib/targets/types';
import type { LaunchContext, VmSpec } from '../../lib/targets/vm';
import { fincoreBytes, runCli, sha256sum, targetSkips, tempDir, testIf, why, withoutSweepNotice } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const skip = targetSkips(['qemu-virt']).get('qemu-virt');

test('the virt command line: virtio-mmio devices, the PL011 console, a Cortex-A72 under TCG', (t) => {
  const ctx = { kernel: { version: 'v', bzImage: '/k/Image', modules: [], source: 't' }, initramfs: '/i', cmdline: 'console=ttyAMA0', dataFile: '/d.dat', tap: 'iso-tap0', mac: '02:00:00:00:00:01', vcpus: 2, memMiB: 512, workDir: '/w', spec: {} } as LaunchContext;
  const v = virtArgs(ctx, 'tcg');
  t.deepEqual(v.args.slice(0, 6), ['-M', 'virt', '-accel', 'tcg', '-cpu', 'cortex-a72']);
  t.true(v.args.includes('virtio-blk-device,drive=data'));
  t.true(v.args.includes('virtio-net-device,netdev=net0,mac=02:00:00:00:00:01'));
  t.is(virtArgs(ctx, 'kvm').args[5], 'host');
  t.true(virtArgs({ ...ctx, spec: { transport: 'pci' } }, 'tcg').args.includes('virtio-blk-pci,drive=data'));
});

testIf(skip, test.serial)('an arm64 guest under TCG: block with cache honesty, TCP RR, the aarch64 probe hashing itself as /init' + why(skip), async (t) => {
  const dataFile = join(tmp.dir, 'virt.dat');
  const s = await makeTarget('qemu-virt').start({ dataFile, dataSize: 16 << 20, network: true } as VmSpec);
  try {
    const rs = await s.runSuite([
      { kind: 'block', options: { direct: true, size: '16M', pattern: 'randread', duration: '400ms', warmup: '100ms' } },
      { kind: 'rr', options: { duration: '400ms', warmup: '100ms' }, placement: 'client-inside' },
    ]);
    for (const x of rs) t.false(x instanceof Error, String(x));
    const b = rs[0] as unknown as TargetResult & BlockResult & { boot: { vmm_start_to_first_result_ns: number; ended_by: string } };
    const r = rs[1] as unknown as TargetResult & NetResult;
    t.is(b.env.arch, 'aarch64');
    t.is(b.env.emulation, '', 'a full-system guest, not user-mode emulation');
    t.is(b.env.hypervisor, 'not detectable on this architecture', 'never "bare metal" where it cannot tell');
    t.true(b.target.emulated, 'TCG: labelled emulated');
    t.regex(b.target.platform!, /^TCG software emulation \(this host is x64/);
    t.is(b.probe.sha256, sha256sum(probeBinaryPath('arm64')), 'the aarch64 probe measured itself inside the guest');
    t.is(b.target.probe_sha256, sha256sum(probeBinaryPath('arm64')));
    t.true(b.ops > 0 && b.latency_ns.min > 0 && b.latency_ns.percentiles['50']! > 1000);
    t.true(b.clock.observed_step_ns > 0 && b.clock.observed_step_ns < 100_000, `clock step ${b.clock.observed_step_ns}`);
    t.is(b.host_page_cache!.mode, 'bypassed');
    t.is(fincoreBytes(dataFile), 0);
    t.true(r.transactions > 10);
    t.is(r.errors.mismatches, 0);
    t.regex(r.peer, /^10\.\d+\.\d+\.1:\d+$/);
    t.is(b.boot.ended_by, 'guest', 'PSCI power-off ends the VM');
    t.log(`arm64 guest under TCG: VMM start to first result ${(b.boot.vmm_start_to_first_result_ns / 1e6).toFixed(0)} ms`);
  } finally {
    await s.stop();
  }
});

testIf(skip, test.serial)('a comparison includes the arm64 guest beside the host: one probe per architecture' + why(skip), async (t) => {
  const suite = { name: 'one', workloads: [{ name: 'rd', workload: { kind: 'block' as const, options: { size: '8M', direct: true, duration: '300ms', warmup: '50ms' } } }] };
  const c = await compare({ targets: ['host', 'qemu-virt'], suite, reps: 2, spec: { dataFile: join(tmp.dir, 'cmp.dat'), dataSize: 8 << 20 } });
  const host = c.cells.find((x) => x.target === 'host')!.results;
  const virt = c.cells.find((x) => x.target === 'qemu-virt')!.results;
  t.is(host.length, 2);
  t.is(virt.length, 2);
  t.is(host[0]!.probe.sha256, sha256sum(probeBinaryPath()));
  t.is(virt[0]!.probe.sha256, sha256sum(probeBinaryPath('arm64')));
  t.true(c.summaries[0]!.rows[1]!.emulated);
});

test('asking a target for an architecture it cannot run says why: exit 3', (t) => {
  const m = runCli(['run', '--arch', 'arm64', '--target', 'qemu-microvm', 'block']);
  t.is(m.code, 3);
  t.is(withoutSweepNotice(m.stderr).trim(), 'isoprobe: qemu-microvm runs x64 guests, not arm64 (arm64 guests: --target qemu-virt)');
  const k = runCli(['run', '--target', 'qemu-virt[kernel=6.1]', 'block']);
  t.is(k.code, 2);
  t.regex(k.stderr, /^isoprobe: --target "qemu-virt\[kernel=6\.1\]": qemu-virt: kernel=6\.1: guest kernels built from source are x86-64 only for now; for an arm64 guest use kernel=cloud/, 'refused by the variant parser, before anything runs');
  const bad = runCli(['run', '--arch', 'arm9', 'block']);
  t.is(bad.code, 2);
  t.is(bad.stderr.trim(), 'isoprobe: --arch "arm9": expected one of x64, arm64');
});
