// Multi-queue virtio, vhost and iothreads as variants: each VMM's command line or refusal, and a
// guest booted with queues=2 that reports, from its own sysfs, two virtio-blk hardware queues and
// two net queue pairs, and whose blk-mq counters show a two-job workload on both queues.
import test from 'ava';

import type { IsoprobeError } from '../../lib/errors';
import type { BlockResult, NetResult } from '../../lib/probe/types';
import { formatTargetResult } from '../../lib/report/target-text';
import { makeTarget } from '../../lib/targets';
import { cloudHypervisorArgs } from '../../lib/targets/cloud-hypervisor';
import { firecrackerCalls } from '../../lib/targets/firecracker';
import { qemuArgs } from '../../lib/targets/qemu';
import type { TargetResult } from '../../lib/targets/types';
import { makeVariant } from '../../lib/targets/variant';
import type { LaunchContext, VmSpec } from '../../lib/targets/vm';
import { targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

function ctx(spec: VmSpec = {}): LaunchContext {
  return {
    kernel: { version: 'v', bzImage: '/k/bzImage', modules: [], source: 'test' }, initramfs: '/w/initramfs', cmdline: 'console=ttyS0 quiet',
    dataFile: '/d/data.dat', tap: 'iso-tap0', mac: '02:00:00:00:00:01', vcpus: 2, memMiB: 512, workDir: '/w', spec,
  };
}

test('queues=2 on QEMU: virtio-blk num-queues, a multi-queue tap with mq=on (MSI-X vectors 2N+2 on PCI)', (t) => {
  const mmio = qemuArgs(ctx({ queues: 2 }), 'tcg', false).args;
  t.true(mmio.includes('virtio-blk-device,drive=data,num-queues=2'), mmio.join(' '));
  t.true(mmio.includes('tap,id=net0,ifname=iso-tap0,script=no,downscript=no,queues=2'));
  t.true(mmio.includes('virtio-net-device,netdev=net0,mac=02:00:00:00:00:01,mq=on'));
  const pci = qemuArgs(ctx({ queues: 4, transport: 'pci' }), 'tcg', false).args;
  t.true(pci.includes('virtio-net-pci,netdev=net0,mac=02:00:00:00:00:01,mq=on,vectors=10'), pci.join(' '));
  const one = qemuArgs(ctx({}), 'tcg', false).args.join(' ');
  t.false(/num-queues|queues=|mq=on/.test(one), 'one queue: the devices as before');
});

test('iothread=on: the disk on its own iothread; vhost=off never asks for vhost-net, vhost=on without it is refused with the reason', (t) => {
  const io = qemuArgs(ctx({ iothread: true }), 'tcg', false).args;
  t.true(io.join(' ').includes('-object iothread,id=iothread0'));
  t.true(io.includes('virtio-blk-device,drive=data,iothread=iothread0'));
  t.false(qemuArgs(ctx({ vhost: 'off' }), 'kvm', true).args.join(' ').includes('vhost=on'), 'off even where KVM could use it');
  t.true(qemuArgs(ctx({ vhost: 'on' }), 'tcg', true).args.join(' ').includes('vhost=on,vhostforce=on'), 'on under TCG: forced');
  const e = t.throws(() => qemuArgs(ctx({ vhost: 'on' }), 'tcg', false)) as IsoprobeError;
  t.is(e.code, 'EUNAVAILABLE');
  t.regex(e.message, /vhost=on: \/dev\/vhost-net is not on this host \((the host kernel .* has CONFIG_VHOST_NET|no vhost_net module|the vhost_net module is not loaded)/);
});

test('Firecracker refuses queues=2 naming its single-queue devices; Cloud Hypervisor maps it to num_queues', (t) => {
  const e = t.throws(() => firecrackerCalls(ctx({ queues: 2 }), '/k/vmlinux')) as IsoprobeError;
  t.regex(e.message, /^firecracker\[queues=2\]: Firecracker's virtio-blk and virtio-net devices have one queue/);
  const ch = cloudHypervisorArgs(ctx({ queues: 2 }), '/k/vmlinux', [53, 0, 0]).args;
  t.true(ch.some((a) => a.startsWith('path=/d/data.dat') && a.endsWith(',num_queues=2')), ch.join(' '));
  t.true(ch.includes('tap=iso-tap0,mac=02:00:00:00:00:01,num_queues=4'), 'two queue pairs: four queues');
});

test('the variant keys: queues, vhost, iothread recorded in the label; bad values refused naming the key', (t) => {
  const v = makeVariant('qemu-microvm', { queues: '2', iothread: 'on' }, '--targets');
  t.is(v.label, 'qemu-microvm[iothread=on,queues=2]');
  t.deepEqual(v.spec, { queues: 2, iothread: true });
  t.throws(() => makeVariant('qemu-microvm', { queues: '0' }, '--targets'), { message: /qemu-microvm\[queues=0\]/ });
  t.throws(() => makeVariant('qemu-microvm', { vhost: 'maybe' }, '--targets'), { message: /qemu-microvm\[vhost=maybe\]/ });
});

const qemuSkip = targetSkips(['qemu-microvm']).get('qemu-microvm');

testIf(qemuSkip, test.serial)('a guest with queues=2 sees two virtio-blk queues and two net queue pairs in its sysfs; two pinned jobs use both disk queues (its per-queue interrupts)' + why(qemuSkip), async (t) => {
  // virtio-pci: a vector per queue, so the guest can count each queue's completions.
  const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', network: true, vcpus: 2, queues: 2, transport: 'pci', dataFile: `${tmp.dir}/q.dat`, dataSize: 16 << 20 } as VmSpec);
  try {
    const rs = await s.runSuite([
      { kind: 'block', options: { size: '16M', duration: '500ms', warmup: '100ms', jobs: 2, cpus: '0,1', direct: true } },
      { kind: 'block', options: { size: '16M', duration: '300ms', warmup: '50ms', cpus: '0', direct: true } },
      // Two connections, one per guest CPU: virtio_net's XPS gives CPU i transmit queue i.
      { kind: 'rr', options: { size: 64, conns: 2, cpus: '0,1', duration: '500ms', warmup: '100ms' }, placement: 'client-inside' },
    ]);
    const [two, one, rr] = rs.map((r) => {
      if (r instanceof Error) throw r;
      return r as TargetResult & BlockResult;
    });
    t.log(`guest devices ${JSON.stringify(two!.guest_devices)}; queue requests: 2 jobs ${JSON.stringify(two!.guest_queues)}, 1 job on CPU 0 ${JSON.stringify(one!.guest_queues)}`);
    t.deepEqual(two!.guest_devices!.block, [{ dev: 'vda', queues: 2 }]);
    const net = two!.guest_devices!.net[0]!;
    t.deepEqual([net.rx_queues, net.tx_queues], [2, 2], 'two queue pairs');
    t.is(net.channels?.combined, 2);
    t.deepEqual(two!.jobs!.map((j) => j.ran_on), [[0], [1]]);
    t.truthy(two!.guest_queues, "the guest counted each queue's interrupts");
    const q2 = two!.guest_queues!.block!.vda!;
    const q1 = one!.guest_queues!.block!.vda!;
    // Each job's own measured requests are the reference (one completion interrupt each, at one
    // request in flight), not a count that depends on how fast this machine emulates.
    const ops = two!.jobs!.map((j) => j.ops);
    t.true(ops.every((n) => n > 0), `each job measured requests: ${ops}`);
    t.log(`interrupts ${q2}, requests ${ops}`);
    t.true(q2.length === 2 && q2.every((n, j) => n >= 0.5 * ops[j]!), `two jobs on CPUs 0 and 1: each queue took its job's requests (interrupts ${q2}, requests ${ops})`);
    t.true(q1[1]! < 0.01 * q1[0]!, `one job on CPU 0: its queue alone (${q1})`);
    t.regex(s.stack.storage, /2 queues/);
    // The interface's own per-queue packet counters, read in the guest before and after the step.
    t.log(`rr over 2 connections: ${JSON.stringify(rr!.guest_queues?.net)} (${(rr as unknown as NetResult).transactions} transactions)`);
    const eth0 = rr!.guest_queues!.net!.eth0!;
    const tx = (rr as unknown as NetResult).transactions;
    t.is(eth0.tx_packets.length, 2);
    t.true(eth0.tx_packets.every((n) => n > 0.2 * tx), `each connection's CPU sent on its own queue: ${eth0.tx_packets} of ${tx} requests`);
    const sent = eth0.tx_packets.reduce((a, b) => a + b, 0);
    t.true(sent >= tx && sent < 3 * tx + 100, `the queues carried the requests (a packet each, plus ACKs): ${sent} for ${tx}`);
    t.true(eth0.rx_packets.reduce((a, b) => a + b, 0) >= tx, `the echoes came back: ${eth0.rx_packets}`);
    t.true(formatTargetResult(rr!).includes(`queues      vda 2 queues; eth0 2 pairs (packets tx ${eth0.tx_packets.join(' / ')}, rx ${eth0.rx_packets.join(' / ')})`), formatTargetResult(rr!));
    t.true(formatTargetResult(two!).includes(`vda 2 queues (completion interrupts ${q2.join(' / ')})`), 'the text shows the counts');
  } finally {
    await s.stop();
  }
});
