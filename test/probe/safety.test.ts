// Data safety on real block devices (loop devices): in-use and signature checks, checksums unchanged.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { IsoprobeError } from '../../lib/errors';
import { runBlock } from '../../lib/probe/block';
import { tempDir, testIf, why } from '../helpers';
import { loopSkip } from '../machine';

const tmp = tempDir();
const loops: string[] = [];
test.after.always(() => {
  for (const l of loops) execFileSync('losetup', ['-d', l]);
  tmp.cleanup();
});

function attach(file: string): string {
  const dev = execFileSync('losetup', ['--find', '--show', file], { encoding: 'utf8' }).trim();
  loops.push(dev);
  return dev;
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');
const ext4Skip = loopSkip(true);
const blankSkip = loopSkip(false);

testIf(ext4Skip, test)('a loop device holding ext4 is refused for writes, even with --destructive, and stays byte-identical' + why(ext4Skip), async (t) => {
  const img = join(tmp.dir, 'ext4.img');
  writeFileSync(img, Buffer.alloc(16 << 20));
  execFileSync('mkfs.ext4', ['-q', '-F', img]);
  const before = sha(img);
  const dev = attach(img);
  const e1 = await t.throwsAsync(runBlock({ file: dev, pattern: 'randwrite', size: '1M', duration: '50ms', warmup: '0ns' }));
  t.is((e1 as IsoprobeError).code, 'EREFUSED');
  t.regex((e1 as Error).message, /refusing to write to block device; pass --destructive/);
  const e2 = await t.throwsAsync(runBlock({ file: dev, pattern: 'randwrite', size: '1M', destructive: true, duration: '50ms', warmup: '0ns' }));
  t.regex((e2 as Error).message, /holds a ext2\/3\/4 filesystem signature; refusing to write to it even with --destructive \(--force overrides\)/);
  // Reading it is harmless and allowed.
  const r = await runBlock({ file: dev, pattern: 'randread', direct: true, size: '1M', duration: '50ms', warmup: '0ns' });
  t.is(r.file.type, 'block');
  t.true(r.ops > 0);
  t.is(sha(img), before, 'the device content is unchanged');
});

testIf(blankSkip, test)('a blank loop device is written only with --destructive, and the run is verified' + why(blankSkip), async (t) => {
  const img = join(tmp.dir, 'blank.img');
  writeFileSync(img, Buffer.alloc(4 << 20));
  const dev = attach(img);
  const r = await runBlock({ file: dev, pattern: 'randrw', direct: true, verify: true, destructive: true, size: '4M', duration: '100ms', warmup: '0ns' });
  t.is(r.file.type, 'block');
  t.is(r.verify.mismatches, 0);
  t.true(r.verify.blocks_checked >= 1024);
});
