// Guest image parts: cpio round trip, serial frames, Debian's cloud kernel and the initramfs.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { cpio, uncpio } from '../../lib/image/cpio';
import { writeInitramfs } from '../../lib/image/guest';
import { debianCloudKernel, extractVmlinux, kernelOption, VIRTIO_MODULES, virtioModules } from '../../lib/image/kernel';
import { probeBinaryPath } from '../../lib/paths';
import { crc32, frame, FrameReader } from '../../lib/targets/frames';
import { isRoot, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

test('cpio: files, directories and device nodes round-trip', (t) => {
  const a = cpio([
    { name: 'dev', type: 'dir', mode: 0o755 },
    { name: 'dev/console', type: 'chardev', mode: 0o600, rdev: [5, 1] },
    { name: 'init', type: 'file', mode: 0o755, data: Buffer.from('hello') },
  ]);
  const e = uncpio(a);
  t.deepEqual(e.map((x) => [x.name, x.type, x.mode]), [['dev', 'dir', 0o755], ['dev/console', 'chardev', 0o600], ['init', 'file', 0o755]]);
  t.deepEqual(e[1]!.rdev, [5, 1]);
  t.is(e[2]!.data!.toString(), 'hello');
  t.is(a.length % 4, 0);
});

test('crc32 matches the standard check value', (t) => {
  t.is(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('frames: found among kernel messages, across chunk boundaries; damaged ones refused', (t) => {
  const good = frame('RESULT', '{"kind":"block","ops":5}');
  const bad = Buffer.from(frame('RESULT', '{"kind":"block","ops":6}').toString('latin1').replace('"ops":6', '"ops":7'), 'latin1');
  const stream = Buffer.concat([Buffer.from('[    0.1] virtio_blk virtio0: [vda] 2048 512-byte logical blocks\n'), good, Buffer.from('[    0.2] random kernel line\n'), bad]);
  const r = new FrameReader();
  const frames = [];
  for (let i = 0; i < stream.length; i += 7) frames.push(...r.push(stream.subarray(i, i + 7)));
  t.deepEqual(frames, [{ kind: 'RESULT', payload: '{"kind":"block","ops":5}' }]);
  t.deepEqual(r.damaged, ['RESULT frame of 24 bytes failed its CRC-32 check']);
});

const aptSkip = isRoot ? undefined : 'fetching the kernel with apt-get download needs root here';
testIf(aptSkip, test.serial)('Debian cloud kernel: fetched, virtio modules in load order, Firecracker vmlinux extracted' + why(aptSkip), (t) => {
  const k = debianCloudKernel();
  t.regex(k.version, /cloud-amd64$/);
  const names = k.modules.map((m) => m.name);
  t.deepEqual(names, VIRTIO_MODULES.filter((n) => names.includes(n)), 'in dependency order');
  for (const n of ['virtio_mmio', 'virtio_blk', 'virtio_net']) t.true(names.includes(n) || kernelOption(k, `CONFIG_${n.toUpperCase()}`) === 'y', n);
  // Firecracker presents virtio-mmio devices on the command line or (v1.8+) through ACPI; Debian's
  // cloud kernel lacks the former, so it relies on the latter.
  t.true(kernelOption(k, 'CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES') === 'y' || kernelOption(k, 'CONFIG_ACPI') === 'y');
  const vmlinux = extractVmlinux(k.bzImage);
  t.true(readFileSync(vmlinux).subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])), 'an ELF kernel');
  const img = writeInitramfs(join(tmp.dir, 'initramfs'), k, ['run block --file=/dev/vda']);
  const entries = uncpio(readFileSync(img.path));
  t.true(entries.find((e) => e.name === 'init')!.data!.equals(readFileSync(probeBinaryPath())), '/init is the static probe');
  t.deepEqual(entries.find((e) => e.name === 'dev/console')!.rdev, [5, 1]);
  t.is(entries.find((e) => e.name === 'plan')!.data!.toString(), 'run block --file=/dev/vda\n');
  // The initramfs packs the modules of its transport, in load order: virtio-mmio by default...
  const order = (es: typeof entries) => es.find((e) => e.name === 'modules/order')!.data!.toString().trim().split('\n');
  t.deepEqual(order(entries), virtioModules('mmio').filter((n) => names.includes(n)));
  t.false(order(entries).includes('virtio_pci'));
  // ...and for Cloud Hypervisor's transport, virtio-pci with the libraries it depends on.
  const pci = uncpio(readFileSync(writeInitramfs(join(tmp.dir, 'initramfs-pci'), k, [], probeBinaryPath(), 'pci').path));
  t.deepEqual(order(pci), ['virtio_ring', 'virtio', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_pci', 'virtio_blk', 'failover', 'net_failover', 'virtio_net'].filter((n) => names.includes(n)));
  t.true(order(pci).includes('virtio_pci') && !order(pci).includes('virtio_mmio'));
  for (const n of order(pci)) t.truthy(pci.find((e) => e.name === `modules/${n}.ko`), `${n}.ko is packed`);
});
