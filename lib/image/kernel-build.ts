// Guest kernels built from source: Debian's linux-source-X package, the kernel's tinyconfig plus
// guest-image/isoprobe-guest.config (everything built in, no modules), `make vmlinux`. Cached by
// (source package version, fragment hash, compiler version, architecture); an entry is complete
// only once renamed into place, so an interrupted build leaves nothing half-made behind.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { arch, availableParallelism } from 'node:os';
import { join } from 'node:path';

import { diesWithParent } from '../child';
import { IsoprobeError } from '../errors';
import { withLock } from '../probe/lock';
import { pidAlive } from '../owner';
import { packageRoot } from '../paths';
import { BuildMeter, type BuildTotal, DryRunCount } from './build-progress';
import { cacheDir, type GuestKernel } from './kernel';
import KERNEL_PACKAGES from './kernel-packages.json';

export const KERNEL_SOURCES = ['6.1', '6.12'] as const;
export type KernelSource = (typeof KERNEL_SOURCES)[number];

export const FRAGMENT = 'guest-image/isoprobe-guest.config';
/** What a build needs besides the source (tinyconfig builds no modules and signs nothing). */
const BUILD_PACKAGES: readonly string[] = KERNEL_PACKAGES.build;

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

function builtDir(): string {
  return join(cacheDir(), 'kernels-built');
}

/** The cache entry of a key (a folder named by the source, its version and the key's hash). */
export function entryDir(key: BuildKey): string {
  const h = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  return join(builtDir(), `${key.source}-${key.package_version}-${h}`);
}

/** A build works in `ENTRY.build-PID` beside its entry; the finished entry is made inside it first. */
const BUILD_TREE = '.build-';
const ENTRY_IN_TREE = 'entry';

/** The build trees whose maker is gone (a build killed by any signal, SIGKILL included). */
export function orphanBuildTrees(): string[] {
  let names: string[];
  try {
    names = readdirSync(builtDir());
  } catch {
    return [];
  }
  return names.filter((n) => {
    const m = /\.(?:build|done)-(\d+)$/.exec(n);  // .done-: the entries of builds before 2026-12
    return m && !pidAlive(Number(m[1]));
  }).map((n) => join(builtDir(), n));
}

/** Processes whose working directory is inside `dir` (a compiler its killed make left running). */
function workingIn(dir: string): number[] {
  const pids: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cwd = readlinkSync(`/proc/${p}/cwd`);
      if (cwd === dir || cwd.startsWith(dir + '/')) pids.push(Number(p));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return pids;
}

/** Removes the trees of builds whose maker is gone, stopping what still works in them; returns them. */
export function sweepBuildTrees(): string[] {
  const gone = orphanBuildTrees();
  for (const dir of gone) {
    for (const pid of workingIn(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* exited meanwhile */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
  return gone;
}

function secs(ms: number): number {
  return Math.round(ms / 1000);
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
  /** How often make's progress is said: each second redraws a terminal's line; default every 10 s (a log). */
  progressEveryMs?: number;
  signal?: AbortSignal;
}

/** Installs the source package and the build tools when missing (Debian's apt; root only); never blocks the event loop. */
async function ensurePackages(source: KernelSource, progress: (s: string) => void, ctl: BuildControl): Promise<void> {
  const missing = [`linux-source-${source}`, ...BUILD_PACKAGES].filter((p) => !installedVersion(p));
  if (!missing.length) return;
  if (process.getuid?.() !== 0)
    throw new IsoprobeError('EUNAVAILABLE', `building a guest kernel needs ${missing.join(', ')}: run as root, or apt-get install ${missing.join(' ')}`);
  progress(`installing ${missing.join(' ')}`);
  const t0 = Date.now();
  // apt is not killed with its parent (a half-configured dpkg is worse than a finished install).
  const install = ['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing];
  const apt = { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, ownGroup: false, diesWithParent: false };
  try {
    await step(install, '/', 'installing the build packages', ctl, undefined, apt);
  } catch (e) {
    if ((e as IsoprobeError).code === 'ECANCELED') throw e;
    await step(['apt-get', 'update', '-q'], '/', 'apt-get update', ctl, undefined, apt);
    await step(install, '/', 'installing the build packages', ctl, undefined, apt);
  }
  progress(`installed in ${secs(Date.now() - t0)} s`);
}

interface StepOptions {
  env?: NodeJS.ProcessEnv;
  /** Its own process group, killed whole on cancel (make and its compilers); default true. */
  ownGroup?: boolean;
  /** SIGKILL when isoprobe dies, SIGKILL included (util-linux setpriv); default true. */
  diesWithParent?: boolean;
  /** Resolves whatever the exit code (a dry run of make stops at what it cannot make without building). */
  anyExit?: boolean;
}

/** Runs a build step; its output lines go to `line`; cancelled by the signal (the whole process group). */
function step(argv: string[], cwd: string, what: string, ctl: BuildControl, line?: (l: string) => void, opts: StepOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ctl.signal?.aborted) return reject(new IsoprobeError('ECANCELED', `${what}: cancelled`));
    const group = opts.ownGroup !== false;
    const [cmd, ...args] = opts.diesWithParent === false ? argv : diesWithParent(argv);
    const child = spawn(cmd!, args, { cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: group });
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
        process.kill(group ? -child.pid! : child.pid!, group ? 'SIGKILL' : 'SIGTERM');
      } catch {
        /* gone */
      }
    };
    ctl.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (e) => reject(new IsoprobeError('EKERNEL', `${what}: cannot run ${argv[0]}: ${e.message}`)));
    child.on('close', (code) => {
      ctl.signal?.removeEventListener('abort', onAbort);
      if (ctl.signal?.aborted) reject(new IsoprobeError('ECANCELED', `${what}: cancelled`));
      else if (code === 0 || opts.anyExit) resolve();
      else reject(new IsoprobeError('EKERNEL', `${what}: ${argv.join(' ')} exited with ${code}: ${tail.trim().split('\n').slice(-4).join(' | ')}`));
    });
  });
}

/** The fragment's options that the merged .config does not hold as asked. */
export function optionsNotTaken(fragment: string, config: string): string[] {
  const have = new Set(config.split('\n').map((l) => l.trim()));
  return fragment.split('\n').map((l) => l.trim()).filter((l) => /^CONFIG_\w+=/.test(l) && !have.has(l));
}

/** make's jobs: the CPUs this process may run on (its affinity, as taskset or a cpuset leaves it), not all the machine has. */
export function buildJobs(): number {
  return Math.max(1, availableParallelism());
}

/** The objects `make vmlinux` will make in a prepared tree, from a dry run (`make -n`, a few seconds). */
async function dryRunTotal(work: string, jobs: number, ctl: BuildControl): Promise<number | undefined> {
  const count = new DryRunCount();
  // It stops at the final link, which needs what only a real build makes (vmlinux.a): hence anyExit.
  await step(['make', `-j${jobs}`, '-n', 'vmlinux'], work, 'make -n vmlinux', ctl, (l) => count.line(l), { anyExit: true });
  return count.total();
}

/** The object count of the newest finished build of this source (any package version, fragment or compiler). */
export function lastBuildObjects(source: KernelSource): number | undefined {
  let best: { at: number; objects: number } | undefined;
  let names: string[] = [];
  try {
    names = readdirSync(builtDir()).filter((n) => n.startsWith(`${source}-`) && !n.includes(BUILD_TREE));
  } catch {
    /* no cache yet */
  }
  for (const n of names) {
    try {
      const k = JSON.parse(readFileSync(join(builtDir(), n, 'key.json'), 'utf8')) as { objects?: unknown; built_at?: unknown };
      const at = typeof k.built_at === 'number' ? k.built_at : 0;
      if (typeof k.objects === 'number' && k.objects > 0 && (!best || at > best.at)) best = { at, objects: k.objects };
    } catch {
      /* an entry from before the count was kept */
    }
  }
  return best?.objects;
}

/** The total a build is measured against: the tree's own count, else the last build's, else none. */
async function buildTotal(work: string, source: KernelSource, jobs: number, ctl: BuildControl): Promise<BuildTotal | undefined> {
  let counted: number | undefined;
  try {
    counted = await dryRunTotal(work, jobs, ctl);
  } catch (e) {
    if ((e as IsoprobeError).code === 'ECANCELED') throw e;  // a dry run that cannot run costs the total, not the build
  }
  if (counted) return { objects: counted, from: 'counted by make -n' };
  const last = lastBuildObjects(source);
  return last ? { objects: last, from: `the last build of linux-source-${source}` } : undefined;
}

/** Runs `make -jJOBS vmlinux`, saying how far it is against the total; returns the objects made. */
async function makeVmlinux(work: string, source: KernelSource, jobs: number, total: BuildTotal | undefined, ctl: BuildControl, say: (l: string) => void, buildStart: number): Promise<number> {
  say(`make -j${jobs} vmlinux: ${total ? `about ${total.objects} objects (${total.from})` : 'the number of objects is not known'}`);
  const meter = new BuildMeter(`linux-source-${source}`, total, say, buildStart);
  const timer = setInterval(() => meter.tick(), ctl.progressEveryMs ?? 10_000);
  try {
    await step(['make', `-j${jobs}`, 'vmlinux'], work, 'make vmlinux', ctl, (l) => meter.line(l));
  } finally {
    clearInterval(timer);
  }
  return meter.objects;
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
  for (const gone of sweepBuildTrees()) say(`removed ${gone}: the build that made it is gone`);
  await ensurePackages(source, say, ctl);
  key = buildKey(source, fragment);
  dir = entryDir(key);
  return withLock(`cache:${dir}`, { what: `the guest kernel build ${dir}`, signal: ctl.signal }, async () => {
    if (existsSync(join(dir, '.complete'))) return { ...kernelOf(dir, key), cached: true, key };
    const work = `${dir}${BUILD_TREE}${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const t0 = Date.now();
    try {
      const tarball = `/usr/src/linux-source-${source}.tar.xz`;
      say(`unpacking ${tarball}`);
      await step(['tar', '-xf', tarball, '-C', work, '--strip-components=1'], work, 'unpacking the kernel source', ctl);
      const unpacked = Date.now();
      say('tinyconfig + ' + FRAGMENT);
      await step(['make', 'tinyconfig'], work, 'make tinyconfig', ctl);
      writeFileSync(join(work, 'isoprobe.config'), fragment);
      await step(['scripts/kconfig/merge_config.sh', '-m', '.config', 'isoprobe.config'], work, 'merging the fragment', ctl);
      await step(['make', 'olddefconfig'], work, 'make olddefconfig', ctl);
      const lost = optionsNotTaken(fragment, readFileSync(join(work, '.config'), 'utf8'));
      if (lost.length) throw new IsoprobeError('EKERNEL', `${FRAGMENT}: these options did not take in linux-source-${source} (a dependency is missing): ${lost.join(', ')}`);
      const configured = Date.now();
      // prepare (objtool, fixdep, generated headers) is the build's first part, made before the
      // count: a dry run cannot go past a tool it would have to build first.
      const jobs = buildJobs();
      say(`make -j${jobs} prepare (objtool, generated headers)`);
      await step(['make', `-j${jobs}`, 'prepare'], work, 'make prepare', ctl);
      const prepared = Date.now();
      const total = await buildTotal(work, source, jobs, ctl);
      const counted = Date.now();
      const objects = await makeVmlinux(work, source, jobs, total, ctl, say, t0);
      const made = Date.now();
      // The entry is assembled inside the build's own folder and renamed into place whole.
      const done = join(work, ENTRY_IN_TREE);
      mkdirSync(done);
      renameSync(join(work, 'vmlinux'), join(done, 'vmlinux'));
      renameSync(join(work, '.config'), join(done, 'config'));
      // The phases apart, so a slow build says where its time went; the count is the next build's total.
      const phases = { unpack_seconds: secs(unpacked - t0), configure_seconds: secs(configured - unpacked), prepare_seconds: secs(prepared - configured), count_seconds: secs(counted - prepared), make_seconds: secs(made - counted), make_jobs: jobs };
      writeFileSync(join(done, 'key.json'), JSON.stringify({ ...key, build_seconds: secs(made - t0), ...phases, objects, built_at: Date.now() }, null, 2));
      writeFileSync(join(done, '.complete'), '');
      rmSync(dir, { recursive: true, force: true });
      renameSync(done, dir);
      say(`built ${join(dir, 'vmlinux')} in ${secs(made - t0)} s (unpacking ${phases.unpack_seconds} s, configuring ${phases.configure_seconds} s, make prepare ${phases.prepare_seconds} s, counting ${phases.count_seconds} s, make -j${jobs} ${phases.make_seconds} s, ${objects} objects)`);
      return { ...kernelOf(dir, key), cached: false, key };
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}
