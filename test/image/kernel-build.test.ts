// Guest kernels built from Debian's linux-source: a second build is a cache hit, the cached kernel
// holds every option of the fragment, an interrupted build leaves no half-made entry, and the
// guest booted from it passes block, TCP RR and cache honesty (checked with fincore).
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
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

// `npm test` builds 6.1 before the tests start (scripts/setup.sh guest-kernel, progress on the
// terminal): here it is a cache hit. Run alone on a machine without it, the test builds it, within
// a time of its own (ava's inactivity timeout would otherwise end the worker mid-build).
testIf(rootSkip, test.serial)('linux-source-6.1 builds (or is in the cache); a second build is a cache hit with every fragment option in its config' + why(rootSkip), async (t) => {
  t.timeout(30 * 60_000, 'building linux-source-6.1 from nothing');
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

testIf(rootSkip, test.serial)('a SIGKILL\'d build: make dies with it, and the next run removes its build tree and says so' + why(rootSkip), async (t) => {
  const cache = join(tmp.dir, 'cache-killed');
  const env = { ...process.env, ISOPROBE_CACHE: cache };
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'isoprobe.js'), 'image', 'build', '--kernel-source', '6.1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise((resolve) => child.once('close', resolve));
  const t0 = Date.now();
  while (!/building linux-source-6\.1: \d+ objects/.test(stderr) && Date.now() - t0 < 120_000) await new Promise((r) => setTimeout(r, 200));
  t.regex(stderr, /building linux-source/, 'the build reached make');
  const dir = join(cache, 'kernels-built');
  const [tree] = readdirSync(dir).filter((n) => n.endsWith(`.build-${child.pid}`));
  t.truthy(tree, 'its build tree');
  t.true(workingIn(join(dir, tree!)).length > 0, 'make and its compilers work in the tree');
  child.kill('SIGKILL');
  await exited;
  // make got SIGKILL with its parent; what it had started finishes its one file and exits.
  const end = Date.now() + 15_000;
  while (workingIn(join(dir, tree!)).length && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
  t.deepEqual(workingIn(join(dir, tree!)), [], 'nothing works on in the killed build\'s tree');
  const next = spawnSync(process.execPath, [join(packageRoot(), 'bin', 'isoprobe.js'), 'run', '--target', 'host', 'block', '--duration', '100ms', '--warmup', '10ms',
    '--data-file', join(tmp.dir, 'next.dat'), '--data-size', '4M'], { env, encoding: 'utf8', timeout: 120_000 });
  t.is(next.status, 0, next.stderr);
  t.regex(next.stderr, new RegExp(`removed what isoprobe runs that are gone left behind: .*kernel build trees ${join(dir, tree!).replace(/[.]/g, '\\.')}`));
  t.deepEqual(readdirSync(dir), [], 'no build tree, no half-made entry');
});

/** Processes whose working directory is inside dir, read from /proc (not by isoprobe). */
function workingIn(dir: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const cwd = readlinkSync(`/proc/${p}/cwd`);
      return cwd === dir || cwd.startsWith(`${dir}/`);
    } catch {
      return false;
    }
  }).map(Number);
}

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
