// The probe image: a valid OCI layout and a docker-archive over the same blobs, reproducible.
import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
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

test('the OCI bundle: read-only root, no capabilities, no new privileges, the system default seccomp profile', async (t) => {
  const { writeBundle } = await import('../../lib/image/oci');
  const { CONTAINERS_DEFAULT_PROFILE, seccompFor } = await import('../../lib/image/seccomp');
  const dir = join(tmp.dir, 'bundle');
  const { existsSync, mkdirSync } = await import('node:fs');
  mkdirSync(dir);
  writeBundle({ dir, args: ['/isoprobe-probe', '--version'] });
  const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  t.true(c.root.readonly);
  t.true(c.process.noNewPrivileges);
  for (const set of ['bounding', 'effective', 'permitted', 'inheritable', 'ambient']) t.deepEqual(c.process.capabilities[set], []);
  t.deepEqual(c.linux.seccomp, seccompFor('default').oci);
  if (existsSync(CONTAINERS_DEFAULT_PROFILE)) {
    // An allowlist: what it does not name fails (mount is named: it relies on CAP_SYS_ADMIN).
    t.is(c.linux.seccomp.defaultAction, 'SCMP_ACT_ERRNO');
    const allowed = new Set(c.linux.seccomp.syscalls.filter((r: { action: string; args?: unknown }) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r: { names: string[] }) => r.names));
    for (const call of ['read', 'pwrite64', 'io_submit', 'fdatasync', 'connect', 'sendto', 'flock']) t.true(allowed.has(call), call);
    for (const call of ['bpf', 'init_module', 'kexec_load', 'open_by_handle_at', 'perf_event_open']) t.false(allowed.has(call), call);
  }
  const u = join(tmp.dir, 'bundle-unconfined');
  mkdirSync(u);
  writeBundle({ dir: u, args: ['/isoprobe-probe'], seccomp: seccompFor('unconfined') });
  t.is(JSON.parse(readFileSync(join(u, 'config.json'), 'utf8')).linux.seccomp, undefined);
});

test('a Docker-format profile becomes OCI seccomp for this container: capabilities, architectures, kernel', async (t) => {
  const { toOciSeccomp, seccompFor, PROBE_SECCOMP_DENY } = await import('../../lib/image/seccomp');
  const profile = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }, { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] }],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['amd64'] } },
      { names: ['arm_only'], action: 'SCMP_ACT_ALLOW', includes: { arches: ['arm64'] } },
      { names: ['new_call'], action: 'SCMP_ACT_ALLOW', includes: { minKernel: '6.3' } },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_ADMIN'] }, args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] },
      { name: 'single', action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
    ],
  };
  const plain = toOciSeccomp(profile, [], 'x64', '6.1.0-13-amd64');
  t.deepEqual(plain, {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['arch_prctl'], action: 'SCMP_ACT_ALLOW' },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['single'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
    ],
  });
  const admin = toOciSeccomp(profile, ['CAP_SYS_ADMIN'], 'arm64', '6.18.0').syscalls as { names: string[] }[];
  t.deepEqual(admin.map((r) => r.names[0]), ['read', 'mount', 'arm_only', 'new_call', 'single']);
  t.deepEqual(toOciSeccomp(profile, [], 'arm64').architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  // A profile file given by path, and the refusals.
  const file = join(tmp.dir, 'profile.json');
  writeFileSync(file, JSON.stringify(profile));
  const c = seccompFor(file);
  t.regex(c.description, /^the profile .*profile\.json, sha256 [0-9a-f]{12}$/);
  t.is(c.engineOpt, file);
  t.is(seccompFor('unconfined').oci, undefined);
  t.is(t.throws(() => seccompFor(join(tmp.dir, 'missing.json')))!.message, `--seccomp ${join(tmp.dir, 'missing.json')}: cannot read the profile (ENOENT); expected default, unconfined or a seccomp profile file`);
  writeFileSync(join(tmp.dir, 'notjson'), '{');
  t.regex(t.throws(() => seccompFor(join(tmp.dir, 'notjson')))!.message, /: not a seccomp profile \(.*JSON.*\); expected the Docker\/containers JSON format$/);
  t.true(PROBE_SECCOMP_DENY.includes('mount'));
});
