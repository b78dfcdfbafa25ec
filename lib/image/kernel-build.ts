// Guest kernels built from source: Debian's linux-source-X package, the kernel's tinyconfig plus
// guest-image/isoprobe-guest.config (everything built in, no modules), `make vmlinux`. Cached by
// (source package version, fragment hash, compiler version, architecture); an entry is complete
// only once renamed into place, so an interrupted build leaves nothing half-made behind.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus } from 'node:os';
import { join } from 'node:path';

import { IsoprobeError } from '../errors';
import { withLock } from '../lock';
import { packageRoot } from '../paths';
import { cacheDir, type GuestKernel } from './kernel';

export const KERNEL_SOURCES = ['6.1', '6.12'] as const;
export type KernelSource = (typeof KERNEL_SOURCES)[number];

export const FRAGMENT = 'guest-image/isoprobe-guest.config';
/** What a build needs besides the source (tinyconfig builds no modules and signs nothing). */
const BUILD_PACKAGES = ['bc', 'bison', 'flex', 'libelf-dev', 'libssl-dev', 'make', 'gcc', 'xz-utils'];

export function isKernelSource(s: string): s is KernelSource {
  return (KERNEL_SOURCES as readonly string[]).includes(s);
}

function installedVersion(pkg: string): string | undefined {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status} ${Version}', pkg], { encoding: 'utf8' });
  const m = /install ok installed (\S+)/.exec(r.stdout ?? '');
  return m?.[1];
}

/** What decides a build's output; its hash names the cache entry. */
export interface BuildKey {
  source: KernelSource;
  package: string;
  package_version: string;
  fragment_sha256: string;
  compiler: string;
  arch: string;
}

function readFragment(): string {
  return readFileSync(join(packageRoot(), FRAGMENT), 'utf8');
}

/** The key of a build; `fragment` is the text the build merges (read once, so the key is of what is built). */
export function buildKey(source: KernelSource, fragment = readFragment()): BuildKey {
  const pkg = `linux-source-${source}`;
  return {
    source,
    package: pkg,
    package_version: installedVersion(pkg) ?? 'not installed',
    fragment_sha256: createHash('sha256').update(fragment).digest('hex'),
    compiler: (spawnSync('gcc', ['--version'], { encoding: 'utf8' }).stdout ?? '').split('\n')[0] ?? 'unknown',
    arch: arch(),
  };
}

function entryDir(key: BuildKey): string {
  const h = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  return join(cacheDir(), 'kernels-built', `${key.source}-${key.package_version}-${h}`);
}

function kernelOf(dir: string, key: BuildKey): GuestKernel {
  return {
    version: `${key.package_version} isoprobe`,
    bzImage: join(dir, 'vmlinux'),
    modules: [],
    config: join(dir, 'config'),
    source: `built from Debian ${key.package} ${key.package_version} with ${FRAGMENT} (tinyconfig, no modules)`,
  };
}

export interface BuildControl {
  onProgress?: (line: string) => void;
  signal?: AbortSignal;
}

/** Installs the source package and the build tools when missing (Debian's apt; root only). */
function ensurePackages(source: KernelSource, progress: (s: string) => void): void {
  const missing = [`linux-source-${source}`, ...BUILD_PACKAGES].filter((p) => !installedVersion(p));
  if (!missing.length) return;
  if (process.getuid?.() !== 0)
    throw new IsoprobeError('EUNAVAILABLE', `building a guest kernel needs ${missing.join(', ')}: run as root, or apt-get install ${missing.join(' ')}`);
  progress(`installing ${missing.join(' ')}`);
  let r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-q'], { encoding: 'utf8' });
    r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  if (r.status !== 0) throw new IsoprobeError('EKERNEL', `apt-get install ${missing.join(' ')} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`);
}

/** Runs a build step; its output lines go to `line`; cancelled by the signal (the whole process group). */
function step(argv: string[], cwd: string, what: string, ctl: BuildControl, line?: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ctl.signal?.aborted) return reject(new IsoprobeError('ECANCELED', `${what}: cancelled`));
    const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let tail = '';
    let partial = '';
    const onData = (d: string) => {
      tail = (tail + d).slice(-4000);
      partial += d;
      let nl;
      while ((nl = partial.indexOf('\n')) >= 0) {
        line?.(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    const onAbort = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    ctl.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => reject(new IsoprobeError('EKERNEL', `${what}: cannot run ${argv[0]}: ${e.message}`)));
    child.on('close', (code) => {
      ctl.signal?.removeEventListener('abort', onAbort);
      if (ctl.signal?.aborted) reject(new IsoprobeError('ECANCELED', `${what}: cancelled`));
      else if (code === 0) resolve();
      else reject(new IsoprobeError('EKERNEL', `${what}: ${argv.join(' ')} exited with ${code}: ${tail.trim().split('\n').slice(-4).join(' | ')}`));
    });
  });
}

/** The fragment's options that the merged .config does not hold as asked. */
export function optionsNotTaken(fragment: string, config: string): string[] {
  const have = new Set(config.split('\n').map((l) => l.trim()));
  return fragment.split('\n').map((l) => l.trim()).filter((l) => /^CONFIG_\w+=/.test(l) && !have.has(l));
}

/**
 * The guest kernel for a source version: from the cache, or built now (minutes; progress through
 * ctl.onProgress). Two builds of the same entry at once: the second waits for the first.
 */
export async function buildGuestKernel(source: KernelSource, ctl: BuildControl = {}): Promise<GuestKernel & { cached: boolean; key: BuildKey }> {
  const say = ctl.onProgress ?? (() => undefined);
  const fragment = readFragment();
  let key = buildKey(source, fragment);
  let dir = entryDir(key);
  if (existsSync(join(dir, '.complete'))) return { ...kernelOf(dir, key), cached: true, key };
  // The packages matter only to a build (a cache hit needs none); installing the source may change its key.
  ensurePackages(source, say);
  key = buildKey(source, fragment);
  dir = entryDir(key);
  return withLock(`cache:${dir}`, { what: `the guest kernel build ${dir}`, signal: ctl.signal }, async () => {
    if (existsSync(join(dir, '.complete'))) return { ...kernelOf(dir, key), cached: true, key };
    const work = `${dir}.build-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const t0 = Date.now();
    try {
      const tarball = `/usr/src/linux-source-${source}.tar.xz`;
      say(`unpacking ${tarball}`);
      await step(['tar', '-xf', tarball, '-C', work, '--strip-components=1'], work, 'unpacking the kernel source', ctl);
      say('tinyconfig + ' + FRAGMENT);
      await step(['make', 'tinyconfig'], work, 'make tinyconfig', ctl);
      writeFileSync(join(work, 'isoprobe.config'), fragment);
      await step(['scripts/kconfig/merge_config.sh', '-m', '.config', 'isoprobe.config'], work, 'merging the fragment', ctl);
      await step(['make', 'olddefconfig'], work, 'make olddefconfig', ctl);
      const lost = optionsNotTaken(fragment, readFileSync(join(work, '.config'), 'utf8'));
      if (lost.length) throw new IsoprobeError('EKERNEL', `${FRAGMENT}: these options did not take in linux-source-${source} (a dependency is missing): ${lost.join(', ')}`);
      let objects = 0;
      let last = Date.now();
      await step(['make', `-j${cpus().length}`, 'vmlinux'], work, 'make vmlinux', ctl, (l) => {
        if (/^\s+(CC|AS|LD|AR)\s/.test(l)) objects++;
        if (Date.now() - last >= 5000) {
          last = Date.now();
          say(`building linux-source-${source}: ${objects} objects, ${Math.round((Date.now() - t0) / 1000)} s`);
        }
      });
      const done = `${dir}.done-${process.pid}`;
      mkdirSync(done, { recursive: true });
      renameSync(join(work, 'vmlinux'), join(done, 'vmlinux'));
      renameSync(join(work, '.config'), join(done, 'config'));
      writeFileSync(join(done, 'key.json'), JSON.stringify({ ...key, build_seconds: Math.round((Date.now() - t0) / 1000) }, null, 2));
      writeFileSync(join(done, '.complete'), '');
      rmSync(dir, { recursive: true, force: true });
      renameSync(done, dir);
      say(`built ${join(dir, 'vmlinux')} in ${Math.round((Date.now() - t0) / 1000)} s`);
      return { ...kernelOf(dir, key), cached: false, key };
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(`${dir}.done-${process.pid}`, { recursive: true, force: true });
    }
  });
}
