// The probe proves which binary measured: it hashes its own executable (the addon: its shared
// object) where it runs. Checked against coreutils sha256sum and node's crypto, never against
// a value isoprobe computed on the host.
import test from 'ava';
import { createHash } from 'node:crypto';
import { appendFileSync, chmodSync, copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { addonPath, runBlock } from '../../lib/probe/block';
import { native } from '../../lib/probe/native';
import { runNetLoopback } from '../../lib/probe/net';
import { packageRoot, probeBinaryPath } from '../../lib/paths';
import { QUICK, runCli, sha256sum, tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());

test("the core's SHA-256 matches the FIPS 180-4 examples and node's crypto", (t) => {
  const cases: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['abc', Buffer.from('abc')],
    ['two blocks', Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')],
    ['55 bytes (padding edge)', Buffer.alloc(55, 1)],
    ['56 bytes (padding edge)', Buffer.alloc(56, 2)],
    ['64 bytes', Buffer.alloc(64, 3)],
    ['a million a', Buffer.alloc(1_000_000, 'a')],
    ['random 300 KiB', require('node:crypto').randomBytes(300 << 10)],
  ];
  const known: Record<string, string> = {
    empty: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    abc: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    'two blocks': '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    'a million a': 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
  };
  for (const [name, data] of cases) {
    const f = join(tmp.dir, name.replace(/\W/g, '_'));
    writeFileSync(f, data);
    const got = native().sha256File(f);
    t.is(got, createHash('sha256').update(data).digest('hex'), name);
    if (known[name]) t.is(got, known[name], `${name}: the FIPS 180-4 example`);
  }
});

test('the static probe reports the hash of /proc/self/exe, equal to sha256sum of its file', async (t) => {
  const b = await runBlock({ file: join(tmp.dir, 'id1.dat'), ...QUICK, size: '4M' }, { via: 'binary' });
  t.is(b.probe.build, 'static');
  t.is(b.probe.sha256_of, '/proc/self/exe');
  t.is(b.probe.sha256, sha256sum(probeBinaryPath()));
  const n = await runNetLoopback('rr', { duration: '100ms', warmup: '0ns' }, { via: 'binary' });
  t.is(n.probe.sha256, sha256sum(probeBinaryPath()));
});

test('the addon reports the hash of its own shared object, not of node', async (t) => {
  const b = await runBlock({ file: join(tmp.dir, 'id2.dat'), ...QUICK, size: '4M' });
  t.is(b.probe.build, 'addon');
  t.is(b.probe.sha256_of, addonPath());
  t.is(b.probe.sha256, sha256sum(addonPath()));
  t.not(b.probe.sha256, sha256sum(process.execPath));
});

test('another binary reports its own hash: the value is measured where the probe runs, not copied', async (t) => {
  const other = join(tmp.dir, 'probe-copy');
  copyFileSync(probeBinaryPath(), other);
  appendFileSync(other, Buffer.from('not the same file'));
  chmodSync(other, 0o755);
  const b = await runBlock({ file: join(tmp.dir, 'id3.dat'), ...QUICK, size: '4M' }, { via: 'binary', probePath: other });
  t.is(b.probe.sha256, sha256sum(other));
  t.not(b.probe.sha256, sha256sum(probeBinaryPath()));
});

test('the version is package.json\'s wherever it is reported: the addon, the static probe\'s results, the CLI', async (t) => {
  const version = (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  t.is(native().version, version, 'the addon');
  const b = await runBlock({ file: join(tmp.dir, 'version.dat'), ...QUICK, size: '4M' }, { via: 'binary' });
  t.is(b.probe.version, version, 'the static probe\'s result');
  const cli = runCli(['version']);
  t.is(cli.stdout.trim(), version, 'isoprobe version');
});
