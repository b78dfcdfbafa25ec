// Loading the probe's image into an engine once per probe build (the tag carries its SHA-256).
import { IsoprobeError } from '../errors';
import { imageTag, writeImageTarball } from '../image/oci';
import { probeBinaryPath } from '../paths';
import { exec, must } from './exec';
import { tempWorkDir } from './session';

export const CTR_NAMESPACE = 'isoprobe';

/** Loads the image into docker or podman when its tag is missing; returns the reference to run. */
export async function ensureEngineImage(engine: 'docker' | 'podman', probe = probeBinaryPath()): Promise<string> {
  const tag = imageTag(probe);
  const ref = engine === 'podman' ? `docker.io/library/${tag}` : tag;
  const have = await exec([engine, 'image', 'inspect', ref], { timeoutMs: 30_000 });
  if (have.code === 0) return ref;
  const w = tempWorkDir('isoprobe-image-');
  try {
    const img = writeImageTarball(`${w.dir}/image.tar`, probe);
    await must([engine, 'load', '-i', img.path], `loading the probe image into ${engine}`, 120_000);
  } finally {
    w.remove();
  }
  const check = await exec([engine, 'image', 'inspect', ref], { timeoutMs: 30_000 });
  if (check.code !== 0) throw new IsoprobeError('ERUNTIME', `${engine} load succeeded but ${ref} is not there: ${check.stderr.trim()}`);
  return ref;
}

/** Imports the image into containerd (namespace "isoprobe") when missing; returns its reference. */
export async function ensureCtrImage(probe = probeBinaryPath()): Promise<string> {
  const ref = `docker.io/library/${imageTag(probe)}`;
  const list = await must(['ctr', '-n', CTR_NAMESPACE, 'images', 'ls', '-q'], 'listing containerd images');
  if (list.split('\n').includes(ref)) return ref;
  const w = tempWorkDir('isoprobe-image-');
  try {
    const img = writeImageTarball(`${w.dir}/image.tar`, probe);
    await must(['ctr', '-n', CTR_NAMESPACE, 'images', 'import', img.path], 'importing the probe image into containerd', 120_000);
  } finally {
    w.remove();
  }
  return ref;
}
