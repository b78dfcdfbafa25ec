// Faults a storage tool must survive: a full filesystem (ENOSPC), a failing device (EIO, from a
// device-mapper "error" target), two runs at once, and the addon run 1000 times in one process.
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { IsoprobeError } from '../../lib/errors';
import { runBlock } from '../../lib/probe/block';
import { runNetLoopback } from '../../lib/probe/net';
import { makeTarget } from '../../lib/targets';
import { findLeftovers } from '../../lib/targets/leftovers';
import { isRoot, targetSkips, tempDir, testIf, why } from '../helpers';
import { loopSkip } from '../machine';

const tmp = tempDir();
const undo: (() => void)[] = [];
test.after.always(() => {
  for (const u of undo.reverse()) {
    try {
      u();
    } catch {
      /* best effort */
    }
  }
  tmp.cleanup();
});

const rootSkip = isRoot ? undefined : 'needs root (mount, losetup, dmsetup)';

// mount -o loop: an ext4 image on a loop device.
const enospcSkip = loopSkip(true);
testIf(enospcSkip, test.serial)('ENOSPC: a clear error naming the file and the offset, nothing else touched' + why(enospcSkip), async (t) => {
  const img = join(tmp.dir, 'small.img');
  const mnt = join(tmp.dir, 'small');
  writeFileSync(img, Buffer.alloc(4 << 20));
  execFileSync('mkfs.ext4', ['-q', '-F', img]);
  mkdirSync(mnt);
  execFileSync('mount', ['-o', 'loop', img, mnt]);
  try {
    writeFileSync(join(mnt, 'keep.txt'), 'earlier data');
    const e = await t.throwsAsync(runBlock({ file: join(mnt, 'big.dat'), size: '64M', duration: '50ms', warmup: '0ns' }));
    t.is((e as IsoprobeError).code, 'ENOSPC');
    t.regex((e as Error).message, /laying out the data region at offset \d+: No space left on device/);
    t.is(execFileSync('cat', [join(mnt, 'keep.txt')], { encoding: 'utf8' }), 'earlier data');
  } finally {
    execFileSync('umount', [mnt]);  // also detaches the loop device mount -o loop attached
  }
});

function dmUnavailable(): string | undefined {
  const r = spawnSync('dmsetup', ['version'], { encoding: 'utf8' });
  if (r.error) return 'dmsetup is not installed (Debian package dmsetup)';
  return r.status === 0 ? undefined : `device-mapper is not usable here: ${(r.stderr || r.stdout).trim().split('\n')[0]}`;
}
const dmSkip = rootSkip ?? dmUnavailable();
testIf(dmSkip, test.serial)('EIO from a device-mapper error target: the run fails with EIO and the offset' + why(dmSkip), async (t) => {
  const name = `isoprobe-err-${process.pid}`;
  // 8 MiB of sectors that fail every I/O.
  execFileSync('dmsetup', ['create', name, '--table', '0 16384 error']);
  undo.push(() => execFileSync('dmsetup', ['remove', name]));
  const dev = `/dev/mapper/${name}`;
  t.true(existsSync(dev));
  const e = await t.throwsAsync(runBlock({ file: dev, size: '1M', direct: true, duration: '50ms', warmup: '0ns' }));
  t.is((e as IsoprobeError).code, 'EIO');
  t.regex((e as Error).message, /^psync read of 4096 bytes at offset \d+ failed: Input\/output error$/);
});

const runcSkip = targetSkips(['runc']).get('runc');
testIf(runcSkip, test.serial)('two sessions at once do not collide: distinct names, both measure, both clean up' + why(runcSkip), async (t) => {
  const [a, b] = await Promise.all([makeTarget('runc').start({ network: true }), makeTarget('runc').start({ network: true })]);
  try {
    t.notDeepEqual(a.stack.command, b.stack.command);
    const [ra, rb] = await Promise.all([
      a.run({ kind: 'rr', options: { duration: '200ms', warmup: '0ns' } }),
      b.run({ kind: 'rr', options: { duration: '200ms', warmup: '0ns' } }),
    ]);
    t.true((ra as unknown as { transactions: number }).transactions > 0);
    t.true((rb as unknown as { transactions: number }).transactions > 0);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  t.deepEqual(await findLeftovers(process.pid), { containers: [], net: [], loops: [], tempDirs: [], cgroups: [] });
});

test.serial('the addon over 1000 short runs in one process: memory does not grow', async (t) => {
  t.is(typeof global.gc, 'function', 'ava runs the workers with --expose-gc (package.json)');
  const file = join(tmp.dir, 'leak.dat');
  const run = () => runBlock({ file, engine: 'null', size: '64k', ops: 50, warmup: 0 });
  // Warm up first: glibc's per-thread arenas and its cache of thread stacks grow over the first
  // few hundred runs (+3 MiB measured), then stay (+0.3 MiB per 1000 runs after that).
  for (let i = 0; i < 1000; i++) await run();
  for (let i = 0; i < 20; i++) await runNetLoopback('rr', { duration: '5ms', warmup: 0 });
  global.gc!();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < 1000; i++) await run();
  for (let i = 0; i < 20; i++) await runNetLoopback('rr', { duration: '5ms', warmup: 0 });
  global.gc!();
  const grown = process.memoryUsage().rss - before;
  t.log(`RSS grew by ${(grown / 2 ** 20).toFixed(2)} MiB over 1000 block and 20 network runs after warm-up`);
  t.true(grown < 4 * 2 ** 20, `RSS grew by ${grown} bytes`);
});
