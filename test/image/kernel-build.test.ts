// Guest kernels built from Debian's linux-source: a second build is a cache hit, the cached kernel
// holds every option of the fragment, an interrupted build leaves no half-made entry, and the
// guest booted from it passes block, TCP RR and cache honesty (checked with fincore).
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';

import { buildGuestKernel, buildKey, entryDir, FRAGMENT, lastBuildObjects, optionsNotTaken } from '../../lib/image/kernel-build';
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

const tasksetSkip = spawnSync('taskset', ['--version']).error ? 'taskset (util-linux) is not installed' : undefined;

// The product's rule on a made-up affinity (this test's own child, pinned to one CPU), not this machine's count.
testIf(tasksetSkip, test)('make runs as many jobs as the CPUs the process may use: one when pinned to one CPU' + why(tasksetSkip), (t) => {
  const cpu = /^Cpus_allowed_list:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!;
  const lib = join(__dirname, '..', '..', 'lib', 'image', 'kernel-build.js');
  const r = spawnSync('taskset', ['-c', cpu, process.execPath, '-e', `process.stdout.write(String(require(${JSON.stringify(lib)}).buildJobs()))`], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.is(r.stdout, '1');
});

const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/** What a file is, to tell it untouched: the same inode, size and modification time. */
function identity(path: string): string {
  const s = statSync(path);
  return `${s.ino} ${s.size} ${s.mtimeMs}`;
}

/** Runs body with the isoprobe cache at dir (serial tests only: the environment is the worker's). */
async function inCache<T>(dir: string, body: () => T | Promise<T>): Promise<T> {
  const saved = process.env.ISOPROBE_CACHE;
  process.env.ISOPROBE_CACHE = dir;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.ISOPROBE_CACHE;
    else process.env.ISOPROBE_CACHE = saved;
  }
}

// When make -n counts nothing, the total is the last build's: made-up entries in a cache of the test's own.
test.serial('without a counted total, a build is measured against the newest finished build of the same source', async (t) => {
  const cache = join(tmp.dir, 'cache-last');
  const entry = (name: string, key: object) => {
    mkdirSync(join(cache, 'kernels-built', name), { recursive: true });
    writeFileSync(join(cache, 'kernels-built', name, 'key.json'), JSON.stringify(key));
  };
  await inCache(cache, () => {
    t.is(lastBuildObjects('6.1'), undefined, 'no cache yet');
    entry('6.1-6.1.100-1-aaaa', { objects: 1500, built_at: 1000 });
    entry('6.1-6.1.101-1-bbbb', { objects: 1520, built_at: 2000 });
    entry('6.1-6.1.99-1-cccc', { build_seconds: 278 });  // before the count was kept
    entry('6.12-6.12.9-1-dddd', { objects: 2100, built_at: 3000 });
    entry('6.1-6.1.102-1-eeee.build-1', { objects: 9, built_at: 4000 });  // a build tree, not an entry
    t.is(lastBuildObjects('6.1'), 1520);
    t.is(lastBuildObjects('6.12'), 2100);
  });
});

// A cache hit builds nothing: shown on an entry made up in a cache of the test's own (no build, no root).
test.serial('a finished entry in the cache is the kernel: returned untouched, nothing said, no build tree beside it', async (t) => {
  const cache = join(tmp.dir, 'cache-hit');
  await inCache(cache, async () => {
    const dir = entryDir(buildKey('6.1'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'vmlinux'), ELF);
    writeFileSync(join(dir, 'config'), 'CONFIG_VIRTIO=y\n');
    writeFileSync(join(dir, 'key.json'), '{}');
    writeFileSync(join(dir, '.complete'), '');
    const before = identity(join(dir, 'vmlinux'));
    // Anything said means a build began: it is stopped there (the test fails on the cancel).
    const said: string[] = [];
    const stop = new AbortController();
    const k = await buildGuestKernel('6.1', { onProgress: (l) => (said.push(l), stop.abort()), signal: stop.signal });
    t.true(k.cached);
    t.is(k.bzImage, join(dir, 'vmlinux'));
    t.deepEqual(said, []);
    t.is(identity(k.bzImage), before, 'the same file, untouched');
    t.deepEqual(readdirSync(join(cache, 'kernels-built')), [basename(dir)]);
  });
});

// `npm test` starts building 6.1 in the background before the tests (scripts/setup.sh
// guest-kernel:background): here the test waits for that build's lock, then it is a cache hit. Run
// alone on a machine without it, the test builds it, within a time of its own (ava's inactivity
// timeout would otherwise end the worker mid-build).
testIf(rootSkip, test.serial)('linux-source-6.1 builds (or is in the cache); a second build is a cache hit with every fragment option in its config' + why(rootSkip), async (t) => {
  t.timeout(30 * 60_000, 'building linux-source-6.1 from nothing');
  const first = await buildGuestKernel('6.1', { onProgress: (l) => t.log(l) });
  const before = identity(first.bzImage);
  const said: string[] = [];
  const again = await buildGuestKernel('6.1', { onProgress: (l) => said.push(l) });
  t.true(again.cached, 'the second build is a cache hit');
  t.deepEqual(said, [], 'a cache hit builds nothing, so says nothing');
  t.is(again.bzImage, first.bzImage);
  t.is(identity(again.bzImage), before, 'the same vmlinux, untouched');
  t.true(readFileSync(again.bzImage).subarray(0, 4).equals(ELF), 'an ELF vmlinux');
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
  t.teardown(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));
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

/** The progress lines said so far: objects made, the total, the share. */
function progressSaid(stderr: string): { objects: number; total: number; percent: number }[] {
  return [...stderr.matchAll(/building linux-source-6\.1: (\d+) of about (\d+) objects \((\d+)%\)/g)]
    .map((m) => ({ objects: Number(m[1]), total: Number(m[2]), percent: Number(m[3]) }));
}

testIf(rootSkip, test.serial)('a build says its total and the share done moves; SIGKILL\'d, make dies with it, and the next run removes its build tree and says so' + why(rootSkip), async (t) => {
  t.timeout(15 * 60_000, 'a hang guard: unpacking, configuring and part of make, on a machine however slow and busy');
  const cache = join(tmp.dir, 'cache-killed');
  const env = { ...process.env, ISOPROBE_CACHE: cache };
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'isoprobe.js'), 'image', 'build', '--kernel-source', '6.1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')));  // a failed check ends no build otherwise
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise((resolve) => child.once('close', resolve));
  // Without a terminal a progress line comes every 10 s: wait until the share has moved (or make
  // ended, or three lines came with no total: nothing will move then).
  const moved = () => { const p = progressSaid(stderr); return p.length >= 2 && p[p.length - 1]!.percent > p[0]!.percent; };
  const noTotal = () => !progressSaid(stderr).length && (stderr.match(/building linux-source-6\.1: \d+ /g) ?? []).length >= 3;
  const giveUp = Date.now() + 12 * 60_000;
  while (!moved() && !noTotal() && child.exitCode === null && Date.now() < giveUp) await new Promise((r) => setTimeout(r, 250));
  // A new cache has no last build: the total is the configured tree's own, with the jobs this process may use.
  const head = /make -j(\d+) vmlinux: about (\d+) objects \(counted by make -n\)/.exec(stderr);
  t.truthy(head, stderr);
  t.is(Number(head![1]), availableParallelism(), 'make -j from the CPUs this process may run on');
  const said = progressSaid(stderr);
  t.log(stderr.trim());
  t.true(said.length >= 2, stderr);
  for (const p of said) t.is(p.total, Number(head![2]), 'each line against the counted total');
  t.true(said.every((p, i) => i === 0 || (p.objects >= said[i - 1]!.objects && p.percent >= said[i - 1]!.percent)), stderr);
  t.true(said[said.length - 1]!.percent > said[0]!.percent, `the share done moves: ${stderr}`);
  const dir = join(cache, 'kernels-built');
  const [tree] = readdirSync(dir).filter((n) => n.endsWith(`.build-${child.pid}`));
  t.truthy(tree, 'its build tree');
  t.true(workingIn(join(dir, tree!)).length > 0, 'make and its compilers work in the tree');
  child.kill('SIGKILL');
  await exited;
  // make got SIGKILL with its parent; what it had started finishes its one file and exits (the
  // minute is a hang guard, not a bound on a compile).
  const end = Date.now() + 60_000;
  while (workingIn(join(dir, tree!)).length && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
  t.deepEqual(workingIn(join(dir, tree!)), [], 'nothing works on in the killed build\'s tree');
  const next = spawnSync(process.execPath, [join(packageRoot(), 'bin', 'isoprobe.js'), 'run', '--target', 'host', 'block', '--duration', '100ms', '--warmup', '10ms',
    '--data-file', join(tmp.dir, 'next.dat'), '--data-size', '4M'], { env, encoding: 'utf8', timeout: 120_000 });
  t.is(next.status, 0, next.stderr || next.stdout || String(next.error ?? next.signal));
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
        t.true(b.env.kernel.startsWith(`${kernel}.`), b.env.kernel);
        t.true(b.ops > 0 && b.latency_ns.min > 0);
        t.is(b.host_page_cache!.mode, 'bypassed');
        t.is(fincoreBytes(dataFile), 0);
        t.is(b.probe.sha256, sha256sum(probeBinaryPath()));
        t.is(b.target.resolved!.kernel_sha256, sha256sum(b.target.resolved!.kernel_path), 'the kernel that booted, by its hash');
        t.true(r.transactions > 0, 'TCP RR went through the guest (how many is a rate: not asserted here)');
        t.is(r.errors.mismatches, 0);
        t.log(`${transport}: VMM start to first result ${(b.boot.vmm_start_to_first_result_ns / 1e6).toFixed(0)} ms`);
      } finally {
        await s.stop();
      }
    }
  });
}
