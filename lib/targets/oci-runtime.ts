// runc, crun and runsc: OCI runtimes driven directly with a bundle. The session container's main
// process is the probe's echo server (it keeps the container up and serves placement
// server-inside); workloads run in it through `exec`.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { monoNs } from '../cost/sample';
import { IsoprobeError } from '../errors';
import { uniqueName } from '../net/netns';
import { PROBE_IN_IMAGE, writeBundle } from '../image/oci';
import { seccompFor } from '../image/seccomp';
import { exec, runtimeTimeoutMs, must, versionOf, which } from './exec';
import type { ProcessNames } from '../cost/roles';
import { containerCostParts } from './container-cost';
import { CONTAINER_SETTINGS, ECHO_SERVICE_SETTING, narrowed, RELAY_SETTING, type TargetDeclaration } from './settings';
import { relayNote } from './relay';
import { attachLoop, dataParts, execSession, linkOf, prepareCommon, SERVER_PORT, tempWorkDir, workDirPrefix } from './session';
import type { Availability, Session, SessionSpec, Target } from './types';

/** Where runc, crun and runsc keep their containers' state: a folder per runtime (--root). */
export const STATE_ROOT = '/run/isoprobe';

type Name = 'runc' | 'crun' | 'runsc';

/** gVisor's own processes, by argv[0]: the Sentry (runsc-sandbox, the user-space kernel) and the Gofer (runsc-gofer). */
export const GVISOR_PROCESSES: ProcessNames = [{ role: 'sentry', argv0: /^runsc-sandbox$/ }, { role: 'gofer', argv0: /^runsc-gofer$/ }];

/**
 * What each OCI runtime target is, once: its description, its settings (runsc's storage is a bound
 * file only: gVisor does not pass block devices through), the processes with roles of their own
 * (runc and crun leave none beside the container's).
 */
export const OCI_DECLARED: Record<Name, TargetDeclaration> = {
  runc: { description: 'runc with an OCI bundle', settings: { ...CONTAINER_SETTINGS, ...ECHO_SERVICE_SETTING, ...RELAY_SETTING }, processes: [] },
  crun: { description: 'crun with an OCI bundle', settings: { ...CONTAINER_SETTINGS, ...ECHO_SERVICE_SETTING, ...RELAY_SETTING }, processes: [] },
  runsc: {
    description: 'gVisor (runsc) with an OCI bundle',
    settings: { ...CONTAINER_SETTINGS, ...ECHO_SERVICE_SETTING, ...RELAY_SETTING, storage: narrowed(CONTAINER_SETTINGS.storage!, { choices: ['bind'], help: 'block workloads: a bind-mounted file (gVisor does not pass block devices through)' }) },
    processes: GVISOR_PROCESSES,
  },
};

/**
 * What differs between the OCI runtimes isoprobe drives. gVisor's quirks live in its own entry,
 * not in branches of the shared code.
 */
interface Flavour {
  /** Global flags beyond --root. */
  globalArgs(spec: SessionSpec): string[];
  /** The container joins isoprobe's namespace through the bundle (runc, crun), or has no network
   * namespace of its own and runs, with every command for it, inside isoprobe's (runsc). */
  joinsNetnsThroughBundle: boolean;
  /** Block devices can be passed in (storage "device"). */
  devices: boolean;
  /** Stays up only as a foreground child (this runsc stops a --detach'ed container at once). */
  foreground: boolean;
  platform?(spec: SessionSpec): string;
  storage(file: string): string;
  network: string;
  seccomp(description: string, hasProfile: boolean): string;
}

const PLAIN: Flavour = {
  globalArgs: () => [],
  joinsNetnsThroughBundle: true,
  devices: true,
  foreground: false,
  storage: (file) => `bind mount of ${file}`,
  network: "veth pair between the container's namespace and a peer namespace, both made by isoprobe",
  seccomp: (d) => d,
};

const GVISOR: Flavour = {
  // gVisor ignores the bundle's seccomp profile unless told to load it into the sandbox. Its own
  // network stack cannot be used with Debian's runsc on this kernel (it mistakes every namespace
  // for the root one): hostinet inside a namespace of isoprobe's.
  globalArgs: (spec) => [`--platform=${spec.platform ?? 'ptrace'}`, '--network=host', ...(spec.seccomp === 'unconfined' ? [] : ['--oci-seccomp'])],
  joinsNetnsThroughBundle: false,
  devices: false,
  foreground: true,
  platform: (spec) => `gVisor ${spec.platform ?? 'ptrace'}`,
  storage: (file) => `bind mount through the gVisor gofer of ${file}`,
  network: 'gVisor hostinet (--network=host) in a namespace isoprobe made, veth pair to a peer namespace',
  // Observed with Debian's runsc: the probe, started with `runsc exec`, reads Seccomp: 0 and
  // io_uring_setup (not in the default allowlist) is not refused: said, not hidden.
  seccomp: (d, hasProfile) => hasProfile
    ? `${d}, loaded with --oci-seccomp; not applied to processes started with runsc exec (every workload) by this runsc; gVisor's boundary is its Sentry, itself under gVisor's own host filter`
    : d,
};

const FLAVOURS: Record<Name, Flavour> = { runc: PLAIN, crun: PLAIN, runsc: GVISOR };


/**
 * Starts a runtime whose container's main process is the probe's echo server, in the foreground,
 * and resolves once the server reports its address (or rejects with the runtime's stderr).
 */
export async function startForeground(argv: string[], what: string, timeoutMs = 60_000): Promise<{ stop(): Promise<void>; output: () => string }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new IsoprobeError('ERUNTIME', `${what}: no answer from the container within ${timeoutMs / 1000} s; stderr: ${err.trim()}`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('"listening"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new IsoprobeError('ERUNTIME', `${what}: ${argv.join(' ')} exited with code ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`, { detail: err }));
    });
  });
  return {
    output: () => out,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export class OciRuntimeTarget implements Target {
  readonly kind = 'container' as const;
  private readonly flavour: Flavour;
  constructor(readonly name: Name, readonly description: string) {
    this.flavour = FLAVOURS[name];
  }

  private globalArgs(spec: SessionSpec = {}): string[] {
    return ['--root', join(STATE_ROOT, this.name), ...this.flavour.globalArgs(spec)];
  }

  async available(): Promise<Availability> {
    if (process.getuid?.() !== 0) return { ok: false, reason: `${this.name} targets need root (namespaces, bind mounts)` };
    if (!(await which(this.name))) return { ok: false, reason: `${this.name} is not installed (Debian package ${this.name})` };
    const version = (await versionOf([this.name, '--version'])) ?? 'unknown';
    // Only a real container start proves the runtime works here (cgroup layout, seccomp, ...).
    const w = tempWorkDir('isoprobe-avail-');
    try {
      writeBundle({ dir: w.dir, args: [PROBE_IN_IMAGE, '--version'] });
      const id = uniqueName(`iso-${this.name}-`, 64);
      const r = await exec([this.name, ...this.globalArgs(), 'run', '--bundle', w.dir, id], { timeoutMs: runtimeTimeoutMs() });
      await exec([this.name, ...this.globalArgs(), 'delete', '--force', id], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
      if (r.code !== 0) return { ok: false, version, reason: `${this.name} cannot start a container here: ${(r.stderr || r.stdout).trim().split('\n').pop()}` };
      return { ok: true, version };
    } finally {
      w.remove();
    }
  }

  async start(spec: SessionSpec = {}): Promise<Session> {
    const f = this.flavour;
    if (spec.storage === 'device' && !f.devices)
      throw new IsoprobeError('EINVALOPT', `${this.name}: gVisor does not pass block devices through; use storage "bind"`, { option: 'storage' });
    const work = tempWorkDir(workDirPrefix(this.name));
    const common = await prepareCommon(spec, true).catch((e) => { work.remove(); throw e; });
    const id = uniqueName(`iso-${this.name}-`, 64);
    const g = this.globalArgs(spec);
    const pair = common.pair;
    // Where the runtime's commands run: runsc's control socket is an abstract Unix socket, which
    // belongs to a network namespace, so every command for it runs in the sandbox's namespace.
    const ns = !f.joinsNetnsThroughBundle && pair ? ['nsenter', `--net=/var/run/netns/${pair.a}`] : [];
    let loop: ReturnType<typeof attachLoop> | undefined;
    let created = false;
    let foreground: { stop(): Promise<void> } | undefined;
    const teardown = async () => {
      if (created) {
        await exec([...ns, this.name, ...g, 'kill', id, 'KILL'], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
        await exec([...ns, this.name, ...g, 'delete', '--force', id], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
      }
      await foreground?.stop();
      if (loop) await exec(['losetup', '-d', loop.dev]).catch(() => undefined);
      await common.undo();
      work.remove();
    };
    try {
      const seccomp = seccompFor(spec.seccomp);
      mkdirSync(join(STATE_ROOT, this.name), { recursive: true, mode: 0o700 });
      if (common.dataFile && spec.storage === 'device') loop = attachLoop(common.dataFile);
      const bundle = join(work.dir, 'bundle');
      mkdirSync(bundle);
      writeBundle({
        dir: bundle,
        seccomp,
        args: [PROBE_IN_IMAGE, 'net', 'serve', `--bind=0.0.0.0:${SERVER_PORT}`],
        dataFile: common.dataFile && !loop ? { host: common.dataFile, name: common.dataName! } : undefined,
        device: loop ? { path: loop.dev, major: loop.major, minor: loop.minor } : undefined,
        netnsPath: pair && f.joinsNetnsThroughBundle ? `/var/run/netns/${pair.a}` : undefined,
        callerNetns: !f.joinsNetnsThroughBundle,
        hostname: id,
      }, common.probe);
      created = true;
      const command = [...ns, this.name, ...g, 'run', ...(f.foreground ? [] : ['--detach']), '--bundle', bundle, id];
      const launchedNs = monoNs();
      if (f.foreground) foreground = await startForeground(command, `starting the ${this.name} container`);
      else await must(command, `starting the ${this.name} container`);
      const pid = (JSON.parse(await must([...ns, this.name, ...g, 'state', id], `reading the ${this.name} container's state`)) as { pid?: number }).pid;
      return execSession({
        stack: {
          target: this.name,
          kind: 'container',
          runtime: this.name,
          runtime_version: (await versionOf([this.name, '--version'])) ?? 'unknown',
          platform: f.platform?.(spec),
          storage: loop ? `block device: loop device ${loop.dev} with direct I/O on ${common.dataFile}` : common.dataFile ? f.storage(common.dataFile) : 'none',
          network: pair ? `${f.network}${relayNote(spec)}` : 'loopback only',
          cgroup_limits: 'none (isoprobe sets no cgroup limits)',
          seccomp: f.seccomp(seccomp.description, !!seccomp.oci),
          probe_sha256: common.sha,
          emulated: false,
          command,
        },
        execProbe: (args, o) => exec([...ns, this.name, ...g, 'exec', ...(o.user ? ['--user', o.user] : []), id, PROBE_IN_IMAGE, ...args], o),
        ...(pid ? containerCostParts(pid, launchedNs, id, this.name === 'runsc', OCI_DECLARED[this.name].processes!) : {}),
        ...dataParts(common.dataFile, common.dataName, loop?.dev),
        link: linkOf(pair),
        echoService: spec.echoService,
        relay: spec.relay || undefined,
        attribution: spec.attribution,
        teardown,
      });
    } catch (e) {
      await teardown();
      throw e;
    }
  }
}
