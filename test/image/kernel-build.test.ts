// Guest kernels built from Debian's linux-source: a second build is a cache hit, the cached kernel
// holds every option of the fragment, an interrupted build leaves no half-made entry, and the
// guest booted from it passes block, TCP RR and cache honesty (checked with fincore).
import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { buildGuestKernel, buildKey, FRAGMENT, optionsNotTaken } from '../../lib/image/kernel-build';
import { packageRoot, probeBinaryPath } from '../../lib/paths';
import type { BlockResult, NetResult } from '../../lib/probe/types';
import { makeTarget } from '../../lib/targets';
import type { TargetResult } from '../../lib/targets/types';
import type { VmSpec } from '../../lib/targets/vm';
import { fincoreBytes, isRoot, runCli, sha256sum, targetSkips, tempDir, testIf, why } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const rootSkip = isRoot ? undefined : 'building installs Debian packages and boots guests: needs root';
const qemuSkip = rootSkip ?? targetSkips(['qemu-microvm']).get('qemu-microvm');

test('an option of the fragment that did not take is found', (t) => {
  const fragment = '# c\nCONFIG_A=y\nCONFIG_B=y\n\nCONFIG_C=m\n';
  t.deepEqual(optionsNotTaken(fragment, 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\n'), ['CONFIG_B=y', 'CONFIG_C=m']);
  t.deepEqual(optionsNotTaken(fragment, 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=m\n'), []);
});

// Builds 6.1 once on a machine (minutes), then every run is a cache hit.
testIf(rootSkip, test.serial)('linux-source-6.1 builds (or is in the cache); a second build is a cache hit with every fragment option in its config' + why(rootSkip), async (t) => {
  const first = await buildGuestKernel('6.1', { onProgress: (l) => t.log(l) });
  const t0 = Date.now();
  const again = await buildGuestKernel('6.1');
  t.true(again.cached, 'the second build is a cache hit');
  t.true(Date.now() - t0 < 5000);
  t.is(again.bzImage, first.bzImage);
  t.true(readFileSync(again.bzImage).subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])), 'an ELF vmlinux');
  const fragment = readFileSync(join(packageRoot(), FRAGMENT), 'utf8');
  t.deepEqual(optionsNotTaken(fragment, readFileSync(again.config!, 'utf8')), []);
  t.deepEqual(JSON.parse(readFileSync(join(again.bzImage, '..', 'key.json'), 'utf8')).fragment_sha256, buildKey('6.1').fragment_sha256);
  const cli = runCli(['image', 'build', '--kernel-source', '6.1', '--json']);
  t.is(cli.code, 0, cli.stderr);
  t.is(JSON.parse(cli.stdout).cached, true);
  t.is(JSON.parse(cli.stdout).virtio_mmio_cmdline_devices, 'y');
});

testIf(rootSkip, test.serial)('an interrupted build leaves no half-made cache entry and no build tree' + why(rootSkip), async (t) => {
  const cache = join(tmp.dir, 'cache');
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'isoprobe.js'), 'image', 'build', '--kernel-source', '6.1'], { env: { ...process.env, ISOPROBE_CACHE: cache }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const t0 = Date.now();
  while (!/unpacking|tinyconfig|building/.test(stderr) && Date.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 3000));
  child.kill('SIGINT');
  t.is(await exited, 130, stderr);
  const dir = join(cache, 'kernels-built');
  t.deepEqual(existsSync(dir) ? readdirSync(dir) : [], [], 'nothing in the cache');
});

for (const kernel of ['6.1'] as const) {
  testIf(qemuSkip, test.serial)(`the guest on the kernel built from ${kernel}: block with cache honesty, TCP RR, measured probe, also over virtio-pci${why(qemuSkip)}`, async (t) => {
    for (const transport of ['mmio', 'pci'] as const) {
      const dataFile = join(tmp.dir, `k-${kernel}-${transport}.dat`);
      const s = await makeTarget('qemu-microvm').start({ accel: 'tcg', kernel, transport, dataFile, dataSize: 16 << 20, network: true } as VmSpec);
      try {
        const rs = await s.runSuite([
          { kind: 'block', options: { direct: true, size: '16M', pattern: 'randread', duration: '300ms', warmup: '50ms' } },
          { kind: 'rr', options: { duration: '300ms', warmup: '50ms' }, placement: 'client-inside' },
        ]);
        for (const x of rs) t.false(x instanceof Error, String(x));
        const b = rs[0] as unknown as TargetResult & BlockResult & { boot: { vmm_start_to_first_result_ns: number } };
        const r = rs[1] as unknown as TargetResult & NetResult;
        t.regex(b.target.platform!, new RegExp(`built from Debian linux-source-${kernel}`));
        t.regex(b.env.kernel, /^6\.1\./);
        t.true(b.ops > 0 && b.latency_ns.min > 0);
        t.is(b.host_page_cache!.mode, 'bypassed');
        t.is(fincoreBytes(dataFile), 0);
        t.is(b.probe.sha256, sha256sum(probeBinaryPath()));
        t.is(b.target.resolved!.kernel_sha256, sha256sum(b.target.resolved!.kernel_path), 'the kernel that booted, by its hash');
        t.true(r.transactions > 10);
        t.is(r.errors.mismatches, 0);
        t.log(`${transport}: VMM start to first result ${(b.boot.vmm_start_to_first_result_ns / 1e6).toFixed(0)} ms`);
      } finally {
        await s.stop();
      }
    }
  });
}
