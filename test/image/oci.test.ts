// The probe image: a valid OCI layout and a docker-archive over the same blobs, reproducible.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { layerTar, writeImageTarball } from '../../lib/image/oci';
import { untar } from '../../lib/image/tar';
import { probeBinaryPath } from '../../lib/paths';
import { tempDir } from '../helpers';

const tmp = tempDir();
test.after.always(() => tmp.cleanup());
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('the image tarball is a valid OCI layout: every digest and size matches its blob', (t) => {
  const img = writeImageTarball(join(tmp.dir, 'a.tar'));
  const files = new Map(untar(readFileSync(img.path)).map((e) => [e.name.replace(/\/$/, ''), e]));
  t.deepEqual(JSON.parse(files.get('oci-layout')!.data!.toString()), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(files.get('index.json')!.data!.toString());
  t.is(index.schemaVersion, 2);
  const desc = index.manifests[0];
  const blob = (d: string) => files.get(`blobs/sha256/${d.replace('sha256:', '')}`)!.data!;
  const manifest = blob(desc.digest);
  t.is(`sha256:${sha(manifest)}`, desc.digest);
  t.is(manifest.length, desc.size);
  const m = JSON.parse(manifest.toString());
  const config = blob(m.config.digest);
  t.is(`sha256:${sha(config)}`, m.config.digest);
  t.is(config.length, m.config.size);
  const layer = blob(m.layers[0].digest);
  t.is(`sha256:${sha(layer)}`, m.layers[0].digest);
  t.is(layer.length, m.layers[0].size);
  const cfg = JSON.parse(config.toString());
  t.deepEqual(cfg.rootfs.diff_ids, [m.layers[0].digest], 'uncompressed layer: diff_id = layer digest');
  t.deepEqual(cfg.config.Entrypoint, ['/isoprobe-probe']);
  t.is(desc.annotations['io.containerd.image.name'], `docker.io/library/${img.tag}`);
});

test('the same tarball carries a docker-archive manifest.json over the same blobs', (t) => {
  const img = writeImageTarball(join(tmp.dir, 'b.tar'));
  const files = new Map(untar(readFileSync(img.path)).map((e) => [e.name, e]));
  const dm = JSON.parse(files.get('manifest.json')!.data!.toString());
  t.is(dm.length, 1);
  t.deepEqual(dm[0].RepoTags, [img.tag]);
  t.truthy(files.get(dm[0].Config), 'Config blob exists');
  t.is(`sha256:${sha(files.get(dm[0].Config)!.data!)}`, img.configDigest);
  for (const l of dm[0].Layers) t.truthy(files.get(l), `layer ${l} exists`);
});

test('the layer holds only the static probe (mode 0755, byte-identical) and mount points', (t) => {
  const entries = untar(layerTar());
  const probe = entries.find((e) => e.name === 'isoprobe-probe')!;
  t.is(probe.mode, 0o755);
  t.true(probe.data!.equals(readFileSync(probeBinaryPath())));
  t.deepEqual(entries.filter((e) => e.type === 'file').map((e) => e.name), ['isoprobe-probe'], 'no shell, no libc');
});

test('the image is reproducible: the same probe gives the same digests', (t) => {
  const a = writeImageTarball(join(tmp.dir, 'c.tar'));
  const b = writeImageTarball(join(tmp.dir, 'd.tar'));
  t.is(a.manifestDigest, b.manifestDigest);
  t.true(readFileSync(a.path).equals(readFileSync(b.path)));
});

test('the OCI bundle: read-only root, no capabilities, no new privileges, a seccomp profile', async (t) => {
  const { writeBundle, PROBE_SECCOMP_DENY } = await import('../../lib/image/oci');
  const dir = join(tmp.dir, 'bundle');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir);
  writeBundle({ dir, args: ['/isoprobe-probe', '--version'] });
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  t.true(c.root.readonly);
  t.true(c.process.noNewPrivileges);
  for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient']) t.deepEqual(c.process.capabilities[set], []);
  t.is(c.linux.seccomp.defaultAction, 'SCMP_ACT_ALLOW');
  t.deepEqual(c.linux.seccomp.syscalls[0].names, [...PROBE_SECCOMP_DENY]);
  for (const s of ['mount', 'init_module', 'bpf', 'ptrace', 'setns']) t.true(c.linux.seccomp.syscalls[0].names.includes(s), s);
  t.is(c.linux.seccomp.syscalls[0].action, 'SCMP_ACT_ERRNO');
});
