// MicroVMs: QEMU microvm boots the probe as /init (TCG always; KVM when it works here), block I/O on
// virtio-blk with cache honesty per host cache mode, TCP RR through a tap; Firecracker and Cloud
// Hypervisor configurations checked against their documented formats; faults; no leftovers.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { IsoprobeError } from '../../lib/errors';
import { probeBinaryPath } from '../../lib/paths';
import type { BlockResult, NetResult } from '../../lib/probe/types';
import { makeTarget } from '../../lib/targets';
import { cloudHypervisorArgs } from '../../lib/targets/cloud-hypervisor';
import { firecrackerCalls } from '../../lib/targets/firecracker';
import { findLeftovers } from '../../lib/targets/leftovers';
import { qemuArgs } from '../../lib/targets/qemu';
import type { TargetResult } from '../../lib/targets/types';
import { kvmUnavailable, type LaunchContext, type VmSpec } from '../../lib/targets/vm';
import { fincoreBytes, onCalmPageCache, sha256sum, targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const SHORT = { duration: '300ms', warmup: '50ms' };

const skips = targetSkips(['qemu-microvm', 'firecracker', 'cloud-hypervisor']);
const qemuSkip = skips.get('qemu-microvm');
// KVM must run a guest, not only create a VM (nested virtualization may not): the boot check says.
const kvmSkip = qemuSkip ?? kvmBootCheckSync();

function kvmBootCheckSync(): string | undefined {
  const why = kvmUnavailable();
  if (why) return why;
  const r = spawnSync(process.execPath, ['-e', `const q = require(${JSON.stringify(join(__dirname, '..', '..', 'lib', 'targets', 'kvm'))});
    const k = require(${JSON.stringify(join(__dirname, '..', '..', 'lib', 'image', 'kernel'))});
    process.stdout.write(JSON.stringify({ why: q.kvmBootCheck(k.debianCloudKernel()) ?? null }));`], { encoding: 'utf8', timeout: 120_000 });
  return r.status === 0 ? JSON.parse(r.stdout).why ?? undefined : `KVM boot check failed: ${r.stderr.trim().split('\n').pop()}`;
}

function ctx(spec: VmSpec = {}): LaunchContext {
  return {
    kernel: { version: 'v', bzImage: '/k/bzImage', modules: [], source: 'test' },
    initramfs: '/w/initramfs',
    cmdline: 'console=ttyS0 quiet',
    dataFile: '/d/data.dat',
    tap: 'iso-tap0',
    mac: '02:00:00:00:00:01',
    vcpus: 2,
    memMiB: 512,
    workDir: '/w',
    spec,
  };
}

test('QEMU microvm command line: virtio-mmio devices, host cache mode as asked', (t) => {
  const q = qemuArgs(ctx({ hostCache: 'none' }), 'tcg');
  t.true(q.args.join(' ').includes('-M microvm'));
  t.true(q.args.includes('-accel') && q.args[q.args.indexOf('-accel') + 1] === 'tcg');
  t.true(q.args.includes('id=data,file=/d/data.dat,format=raw,if=none,cache=none,aio=io_uring'));
  t.true(q.args.includes('virtio-blk-device,drive=data'));
  t.true(q.args.includes('tap,id=net0,ifname=iso-tap0,script=no,downscript=no'));
  t.regex(q.diskCache, /bypassed/);
  t.regex(qemuArgs(ctx({ hostCache: 'writeback' }), 'kvm').diskCache, /cache=writeback aio=threads \(through the host page cache\)/);
  t.throws(() => qemuArgs(ctx({ hostCache: 'writeback', aio: 'native' }), 'tcg'), { message: 'qemu: aio=native needs host_cache=none, not writeback (QEMU opens the file with O_DIRECT for it)' });
});

test('Firecracker API calls follow the documented request bodies, in order', (t) => {
  const calls = firecrackerCalls(ctx({ hostCache: 'writeback', aio: 'Async' }), '/k/vmlinux');
  t.deepEqual(calls.map((c) => c.path), ['/machine-config', '/boot-source', '/drives/data', '/network-interfaces/eth0', '/actions']);
  t.deepEqual(calls[0]!.body, { vcpu_count: 2, mem_size_mib: 512, smt: false });
  t.deepEqual(Object.keys(calls[1]!.body).sort(), ['boot_args', 'initrd_path', 'kernel_image_path']);
  t.deepEqual(calls[2]!.body, { drive_id: 'data', path_on_host: '/d/data.dat', is_root_device: false, is_read_only: false, cache_type: 'Writeback', io_engine: 'Async' });
  t.deepEqual(calls[3]!.body, { iface_id: 'eth0', host_dev_name: 'iso-tap0', guest_mac: '02:00:00:00:00:01' });
  t.deepEqual(calls[4]!.body, { action_type: 'InstanceStart' });
  t.is(firecrackerCalls(ctx(), '/k/vmlinux')[2]!.body.cache_type, 'Unsafe', 'Firecracker\'s default');
  t.throws(() => firecrackerCalls(ctx({ hostCache: 'none' }), '/k/vmlinux'), { message: /^firecracker\[host_cache=none\]: expected one of unsafe, writeback .*always goes through the host page cache, no O_DIRECT/ });
});

test('Cloud Hypervisor command line follows its documented options', (t) => {
  const c = cloudHypervisorArgs(ctx({ hostCache: 'none' }), '/k/vmlinux');
  t.deepEqual(c.args, ['--kernel', '/k/vmlinux', '--initramfs', '/w/initramfs', '--cmdline', 'console=ttyS0 quiet', '--cpus', 'boot=2', '--memory', 'size=512M',
    '--serial', 'tty', '--console', 'off', '--disk', 'path=/d/data.dat,direct=on', '--net', 'tap=iso-tap0,mac=02:00:00:00:00:01']);
  t.regex(cloudHypervisorArgs(ctx({ hostCache: 'writeback' }), '/k/vmlinux').diskCache, /direct=off/);
});

for (const name of ['firecracker', 'cloud-hypervisor'] as const) {
  const skip = skips.get(name);
  testIf(skip, test.serial)(`${name}: boots the probe and measures TCP RR on loopback in the guest${why(skip)}`, async (t) => {
    const s = await makeTarget(name).start({ network: false });
    try {
      const r = (await s.run({ kind: 'rr', options: SHORT, placement: 'loopback' })) as TargetResult & NetResult;
      t.true(r.transactions > 0);
    } finally {
      await s.stop();
    }
  });
}

async function blockInGuest(spec: VmSpec, file: string): Promise<TargetResult & BlockResult> {
  const s = await makeTarget('qemu-microvm').start({ ...spec, dataFile: file, dataSize: 16 << 20, network: false } as VmSpec);
  try {
    return (await s.run({ kind: 'block', options: { direct: true, size: '16M', pattern: 'read', ...SHORT } })) as TargetResult & BlockResult;
  } finally {
    await s.stop();
  }
}

testIf(qemuSkip, test.serial)('QEMU microvm under TCG: block on virtio-blk, cache=none bypasses the host cache, writeback uses it' + why(qemuSkip), (t) => onCalmPageCache(t, async (t) => {
  const f1 = join(tmp.dir, 'tcg-none.dat');
  const a = await blockInGuest({ accel: 'tcg', hostCache: 'none' }, f1);
  t.true(a.target.emulated, 'TCG numbers are marked emulated');
  t.is(a.env.hypervisor, 'tcg');
  t.is(a.file.type, 'block');
  t.true(a.ops > 0);
  t.is(a.probe.sha256, sha256sum(probeBinaryPath()), 'the probe hashed itself as /init in the guest: the host\'s binary');
  t.is(a.probe.sha256_of, '/proc/self/exe');
  t.is(a.host_page_cache!.mode, 'bypassed');
  t.is(fincoreBytes(f1), 0);
  t.true((a as unknown as { boot: { vmm_start_to_probe_ns: number } }).boot.vmm_start_to_probe_ns > 0);
  // The guest's clock: real latencies (a jiffies clock would read 0 for most), a step it measured and that is fine-grained.
  t.true(a.latency_ns.min > 0, `min latency ${a.latency_ns.min} ns`);
  t.true(a.latency_ns.percentiles['50']! > 1_000, `p50 ${a.latency_ns.percentiles['50']} ns: no 4 KiB read takes under 1 us in an emulated guest`);
  t.true(a.clock.observed_step_ns > 0 && a.clock.observed_step_ns < 100_000, `observed clock step ${a.clock.observed_step_ns} ns`);
  const f2 = join(tmp.dir, 'tcg-wb.dat');
  const b = await blockInGuest({ accel: 'tcg', hostCache: 'writeback' }, f2);
  t.is(b.host_page_cache!.mode, 'used', 'guest O_DIRECT still went through the host page cache');
  t.is(fincoreBytes(f2), b.host_page_cache!.resident_bytes_after);
  t.true(b.host_page_cache!.resident_bytes_after > 0);
}));

testIf(qemuSkip, test.serial)('QEMU microvm under TCG: TCP RR from the guest to the echo server in isoprobe\'s namespace, through the tap' + why(qemuSkip), async (t) => {
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: true } as VmSpec);
  try {
    const r = (await s.run({ kind: 'rr', options: SHORT, placement: 'client-inside' })) as TargetResult & NetResult;
    t.true(r.transactions > 10);
    t.is(r.errors.mismatches, 0);
    t.true(r.target.emulated);
    t.true(r.latency_ns!.min > 0 && r.latency_ns!.percentiles['50']! > 1_000, `guest RR p50 ${r.latency_ns!.percentiles['50']} ns`);
    t.true(r.clock.observed_step_ns > 0 && r.clock.observed_step_ns < 100_000, `observed clock step ${r.clock.observed_step_ns} ns`);
    t.is(r.probe.sha256, sha256sum(probeBinaryPath()));
    t.regex(r.peer, /^10\.\d+\.\d+\.1:\d+$/);
  } finally {
    await s.stop();
  }
  t.deepEqual((await findLeftovers(process.pid)).net, []);
});

testIf(kvmSkip, test.serial)('QEMU microvm with KVM: block and TCP RR, not marked emulated' + why(kvmSkip), async (t) => {
  const s = await makeTarget('qemu-microvm').start({ accel: 'kvm', dataFile: join(tmp.dir, 'kvm.dat'), dataSize: 16 << 20, network: true } as VmSpec);
  try {
    const b = (await s.run({ kind: 'block', options: { direct: true, size: '16M', ...SHORT } })) as TargetResult & BlockResult;
    t.false(b.target.emulated);
    t.is(b.host_page_cache!.mode, 'bypassed');
    const r = (await s.run({ kind: 'rr', options: SHORT, placement: 'server-inside' })) as TargetResult & NetResult;
    t.true(r.transactions > 100);
  } finally {
    await s.stop();
  }
});

// The VMMs this test process started: their work directories carry its mark (see tempWorkDir),
// so another isoprobe run's QEMU on the same machine is not counted.
const MINE = `isoprobe-qemu-microvm-${process.pid.toString(36)}-`;
function qemuProcesses(): string {
  try {
    return execFileSync('pgrep', ['-af', 'qemu-system-x86_64'], { encoding: 'utf8' }).trim().split('\n').filter((l) => l.includes(MINE)).join('\n');
  } catch {
    return '';  // pgrep exits 1 when nothing matches
  }
}

// Whether each report comes while the boot still runs is asked of the VMM itself (is it still
// there?), not of the clock; how the reports are spaced in time is a timing test
// (test/timing/targets.test.ts).
testIf(qemuSkip, test.serial)('a boot reports each workload as its result frame arrives, not all at the end of the boot' + why(qemuSkip), async (t) => {
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: false });
  const seen: { i: number; vmmRunning: boolean }[] = [];
  try {
    const w = { kind: 'rr' as const, options: { duration: '1s', warmup: '100ms' }, placement: 'loopback' as const };
    const rs = await s.runSuite([w, w, w], {}, undefined, (i) => seen.push({ i, vmmRunning: qemuProcesses() !== '' }));
    for (const r of rs) t.false(r instanceof Error, String(r));
    t.deepEqual(seen.map((x) => x.i), [0, 1, 2], 'each workload once, in the boot\'s order');
    // After the first two reports the guest still had a workload of a second to run: the VMM was there.
    t.deepEqual(seen.slice(0, 2).map((x) => x.vmmRunning), [true, true], 'reported while the boot was still running');
    t.is(qemuProcesses(), '', 'and the boot is over once the suite returns');
  } finally {
    await s.stop();
  }
});

testIf(qemuSkip, test.serial)('a guest whose init dies: the kernel panic is reported, the serial log kept, nothing left behind' + why(qemuSkip), async (t) => {
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: true, planPrefix: ['exit'] } as VmSpec);
  try {
    const e = await t.throwsAsync(s.run({ kind: 'rr', options: SHORT, placement: 'loopback' }));
    const m = /^the guest kernel panicked: Kernel panic - not syncing: Attempted to kill init!.*; serial log kept at (\S+)$/.exec((e as Error).message);
    t.truthy(m, (e as Error).message);
    t.regex(readFileSync(m![1]!, 'latin1'), /ISOPROBE READY/);
  } finally {
    await s.stop();
  }
  t.deepEqual((await findLeftovers(process.pid)).net, []);
  t.is(qemuProcesses(), '');
});

/** Seconds from the VMM's start to the probe's READY in a plain TCG boot here and now: a reference for a boot limit. */
async function bootSeconds(): Promise<number> {
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: false } as VmSpec);
  try {
    const r = (await s.run({ kind: 'rr', options: SHORT, placement: 'loopback' })) as TargetResult & { boot: { vmm_start_to_probe_ns: number } };
    return r.boot.vmm_start_to_probe_ns / 1e9;
  } finally {
    await s.stop();
  }
}

testIf(qemuSkip, test.serial)('a guest that hangs is killed after its timeout, with a clear error' + why(qemuSkip), async (t) => {
  // The limit must let the probe start first (that is the case tested): three times what a boot
  // took here just before, at least 10 s. Until READY and after it, the same limit applies.
  const ref = await bootSeconds();
  const bootTimeoutS = Math.max(10, Math.ceil(3 * ref));
  t.log(`a boot took ${ref.toFixed(1)} s here: limit ${bootTimeoutS} s`);
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: false, planPrefix: ['hold 600'], bootTimeoutS } as VmSpec);
  const started = Date.now();
  try {
    const e = await t.throwsAsync(s.run({ kind: 'rr', options: SHORT, placement: 'loopback' }));
    t.regex((e as Error).message, /^the qemu-microvm guest did not finish within \d+ s and was killed \(the probe had started\); serial log kept at /);
  } finally {
    await s.stop();
  }
  // A hang guard, not a timing check: the boot, the limit after READY, and as much again to spare.
  t.true(Date.now() - started < (2 * bootTimeoutS + 30) * 1000, `${Date.now() - started} ms`);
  t.is(qemuProcesses(), '');
});

testIf(qemuSkip, test.serial)('the VMM killed mid-run: a clear error with the serial log, nothing left behind' + why(qemuSkip), async (t) => {
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: true } as VmSpec);
  // Only the VMM this test started: its initramfs lives in a work directory carrying this process's mark.
  const killer = setInterval(() => {
    for (const line of qemuProcesses().split('\n').filter(Boolean)) {
      try {
        process.kill(Number(line.trim().split(' ')[0]), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }, 2000);
  try {
    const e = await t.throwsAsync(s.run({ kind: 'rr', options: { duration: '30s', warmup: '0ns' }, placement: 'client-inside' }));
    t.regex((e as Error).message, /the guest (never reported|printed no result).*serial log kept at /);
  } finally {
    clearInterval(killer);
    await s.stop();
  }
  t.deepEqual((await findLeftovers(process.pid)).net, []);
  t.is(qemuProcesses(), '');
});

testIf(qemuSkip, test.serial)('a workload that hangs in the guest is killed at its deadline and fails alone; the next one runs in the same boot' + why(qemuSkip), async (t) => {
  const dataFile = join(tmp.dir, 'hang.dat');
  // bootTimeoutS 20: the host ends a boot 20 s past a workload's time, the guest's PID 1 a hung
  // workload 5 s past it (the budget of an ops-bound run is the default 5 s: deadline 10 s).
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', dataFile, dataSize: 16 << 20, network: false, bootTimeoutS: 20 } as VmSpec);
  try {
    const rs = await s.runSuite([
      { kind: 'block', options: { direct: true, size: '16M', ...SHORT } },
      // A billion reads at a few thousand per second under TCG: it would run for days.
      { kind: 'block', options: { direct: true, size: '16M', ops: 1_000_000_000, warmup: '0s' } },
      { kind: 'block', options: { direct: true, size: '16M', pattern: 'randread', ...SHORT } },
    ]);
    const [a, hung, b] = rs as (TargetResult & BlockResult & { boot: { vmm_start_to_probe_ns: number; position: number } })[];
    t.true(hung instanceof Error);
    t.is((hung as unknown as IsoprobeError).code, 'ETIMEDOUT');
    t.is((hung as unknown as Error).message, 'the workload did not finish within its deadline of 10 s in the guest and was killed; the plan went on with the next workload');
    for (const r of [a!, b!]) {
      t.false(r instanceof Error, String(r));
      t.true(r.ops > 0);
    }
    t.is(a!.boot.vmm_start_to_probe_ns, b!.boot.vmm_start_to_probe_ns, 'one boot');
    // The deadline, not the host's limit, ended the hung workload: the boot went on to the next
    // workload (the host's limit would have killed the VMM). How long it took: test/timing/targets.test.ts.
    t.is(b!.boot.position, 2);
  } finally {
    await s.stop();
  }
  t.is(qemuProcesses(), '');
});

testIf(qemuSkip, test.serial)('one boot runs a whole suite: each block workload measured cold with its own cache verdict, a failing workload fails alone' + why(qemuSkip), (t) => onCalmPageCache(t, async (t) => {
  const dataFile = join(tmp.dir, 'suite.dat');
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', dataFile, dataSize: 16 << 20, network: true, hostCache: 'writeback' } as VmSpec);
  try {
    const ws = [
      { kind: 'block' as const, options: { direct: true, size: '16M', pattern: 'read' as const, ...SHORT } },
      { kind: 'rr' as const, options: SHORT, placement: 'client-inside' as const },
      // Fails in the guest: the region lies past the end of its 16 MiB disk.
      { kind: 'block' as const, options: { size: '16M', offset: '32M', direct: true, ...SHORT } },
      // Refused before the boot: a region that is not a multiple of the block size.
      { kind: 'block' as const, options: { size: '16M', bs: '3000', ...SHORT } },
      { kind: 'block' as const, options: { direct: true, size: '16M', pattern: 'randread' as const, ...SHORT } },
    ];
    const seen: number[] = [];
    const rs = await s.runSuite(ws, {}, (i) => seen.push(i));
    t.deepEqual(seen, [0, 1, 2, 3, 4], 'every workload reported, in order');
    const [a, rr, bad, refused, b] = rs as (TargetResult & BlockResult & { boot: { workloads_in_boot: number; position: number; vmm_start_to_probe_ns: number } })[];
    t.true(bad instanceof Error, 'the workload past the end of the disk failed in the guest');
    t.regex((bad as unknown as Error).message, /end|size|beyond|past/i);
    t.true(refused instanceof Error);
    t.is((refused as unknown as Error).message, '--size 16777216: expected a multiple of --bs 3000');
    for (const r of [a!, b!]) {
      t.false(r instanceof Error, String(r));
      t.true(r.ops > 0);
      // Writeback: the guest's reads fill the host's cache; the verdict is taken per workload,
      // after the host evicted the file at the gate before it.
      t.is(r.host_page_cache!.mode, 'used');
      t.is(r.host_page_cache!.resident_bytes_before, 0, 'evicted at the gate before this workload');
      // The refused workload never reaches the boot: the other four run in it.
      t.is(r.boot.workloads_in_boot, 4);
    }
    t.is(a!.boot.vmm_start_to_probe_ns, b!.boot.vmm_start_to_probe_ns, 'one boot');
    t.deepEqual([a!.boot.position, b!.boot.position], [0, 3], 'first and last of the boot\'s plan');
    t.true((rr as unknown as NetResult).transactions > 10);
    t.is(fincoreBytes(dataFile), b!.host_page_cache!.resident_bytes_after, 'fincore agrees with the last verdict');
  } finally {
    await s.stop();
  }
  t.is(qemuProcesses(), '');
}));
