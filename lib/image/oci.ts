// The container image of the probe: a rootfs holding only the static probe (no shell, no libc),
// an OCI runtime bundle for runc/runsc/crun, and one image tarball that `docker load` (its
// manifest.json), `podman load` and `ctr image import` (its OCI index.json) all accept.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { fileSha256 } from '../probe/block';
import { probeBinaryPath } from '../paths';
import { type SeccompChoice, seccompFor } from './seccomp';
import { tar } from './tar';

export const PROBE_IN_IMAGE = '/isoprobe-probe';
export const DATA_DIR = '/data';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

export function imageTag(probe = probeBinaryPath()): string {
  return `isoprobe-probe:${fileSha256(probe).slice(0, 12)}`;
}

/** The one layer: the probe, and empty mount points. */
export function layerTar(probe = probeBinaryPath()): Buffer {
  return tar([
    { name: 'data', type: 'dir', mode: 0o755 },
    { name: 'tmp', type: 'dir', mode: 0o1777 },
    { name: 'proc', type: 'dir', mode: 0o555 },
    { name: 'sys', type: 'dir', mode: 0o555 },
    { name: 'dev', type: 'dir', mode: 0o755 },
    { name: PROBE_IN_IMAGE.slice(1), type: 'file', mode: 0o755, data: readFileSync(probe) },
  ]);
}

export interface ImageTarball {
  path: string;
  tag: string;
  /** sha256:… of the image config: Docker's image ID. */
  configDigest: string;
  manifestDigest: string;
  layerDigest: string;
}

/**
 * Writes the image tarball. It holds an OCI image layout (oci-layout, index.json, blobs/) and,
 * over the same blobs, Docker's manifest.json, as `docker save` of Docker 25 does: Docker 20.10
 * reads manifest.json, containerd and podman read index.json.
 */
export function writeImageTarball(path: string, probe = probeBinaryPath()): ImageTarball {
  const layer = layerTar(probe);
  const layerDigest = sha256(layer);
  const tag = imageTag(probe);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Entrypoint: [PROBE_IN_IMAGE], Cmd: ['--help'], WorkingDir: '/', Env: ['ISOPROBE_CONTAINER=1'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    history: [{ created_by: 'isoprobe: static probe binary', comment: `probe sha256 ${fileSha256(probe)}` }],
  }));
  const configDigest = sha256(config);
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${configDigest}`, size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerDigest}`, size: layer.length }],
  }));
  const manifestDigest = sha256(manifest);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${manifestDigest}`,
      size: manifest.length,
      annotations: { 'io.containerd.image.name': `docker.io/library/${tag}`, 'org.opencontainers.image.ref.name': tag.split(':')[1] },
    }],
  };
  const dockerManifest = [{ Config: `blobs/sha256/${configDigest}`, RepoTags: [tag], Layers: [`blobs/sha256/${layerDigest}`] }];
  const file = tar([
    { name: 'blobs', type: 'dir', mode: 0o755 },
    { name: 'blobs/sha256', type: 'dir', mode: 0o755 },
    { name: `blobs/sha256/${configDigest}`, type: 'file', mode: 0o644, data: config },
    { name: `blobs/sha256/${layerDigest}`, type: 'file', mode: 0o644, data: layer },
    { name: `blobs/sha256/${manifestDigest}`, type: 'file', mode: 0o644, data: manifest },
    { name: 'index.json', type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify(index)) },
    { name: 'oci-layout', type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })) },
    { name: 'manifest.json', type: 'file', mode: 0o644, data: Buffer.from(JSON.stringify(dockerManifest)) },
  ]);
  writeFileSync(path, file, { mode: 0o600 });
  return { path, tag, configDigest: `sha256:${configDigest}`, manifestDigest: `sha256:${manifestDigest}`, layerDigest: `sha256:${layerDigest}` };
}

export { PROBE_SECCOMP_DENY, probeSeccomp } from './seccomp';

export interface BundleSpec {
  dir: string;
  args: string[];
  /** Host file bind-mounted at /data/<name> (read-write). */
  dataFile?: { host: string; name: string };
  /** Block device passed into the container at the same path. */
  device?: { path: string; major: number; minor: number };
  /** Join this network namespace (a path under /var/run/netns); otherwise a new, empty one. */
  netnsPath?: string;
  /** No network namespace of its own: the container uses the namespace it is started in. */
  callerNetns?: boolean;
  hostname?: string;
  /** The seccomp profile (default: seccompFor('default'), the system's containers default). */
  seccomp?: SeccompChoice;
}

/** An OCI runtime bundle: rootfs with the probe, read-only, no capabilities, no new privileges. */
export function writeBundle(spec: BundleSpec, probe = probeBinaryPath()): string {
  const rootfs = join(spec.dir, 'rootfs');
  for (const d of ['data', 'tmp', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(probe, join(rootfs, PROBE_IN_IMAGE));
  chmodSync(join(rootfs, PROBE_IN_IMAGE), 0o755);
  const mounts: Record<string, unknown>[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'] },
  ];
  if (spec.dataFile) mounts.push({ destination: `${DATA_DIR}/${spec.dataFile.name}`, type: 'bind', source: spec.dataFile.host, options: ['bind', 'rw'] });
  const namespaces: Record<string, string>[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (!spec.callerNetns) namespaces.push(spec.netnsPath ? { type: 'network', path: spec.netnsPath } : { type: 'network' });
  const seccomp = spec.seccomp ?? seccompFor('default');
  const devices = spec.device ? [{ path: spec.device.path, type: 'b', major: spec.device.major, minor: spec.device.minor, fileMode: 0o600, uid: 0, gid: 0 }] : [];
  const config = {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: spec.args,
      env: ['PATH=/', 'ISOPROBE_CONTAINER=1'],
      cwd: '/',
      // No capabilities: the probe needs none for O_DIRECT, io_uring, mincore or sockets.
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: spec.hostname ?? 'isoprobe',
    mounts,
    linux: {
      namespaces,
      devices,
      resources: { devices: [{ allow: false, access: 'rwm' }, ...devices.map((d) => ({ allow: true, type: 'b', major: d.major, minor: d.minor, access: 'rw' }))] },
      ...(seccomp.oci ? { seccomp: seccomp.oci } : {}),
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  writeFileSync(join(spec.dir, 'config.json'), JSON.stringify(config, null, 2), { mode: 0o600 });
  return spec.dir;
}
