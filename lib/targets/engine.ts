// Docker and Podman: the probe image loaded from isoprobe's tarball, the session container started
// with no network, then a veth pair from a peer namespace moved into its namespace.

import { monoNs } from '../cost/sample';
import { IsoprobeError } from '../errors';
import { createPeerForPid, type PeerLink, uniqueName } from '../net/netns';
import { DATA_DIR, PROBE_IN_IMAGE } from '../image/oci';
import { seccompFor } from '../image/seccomp';
import { ensureDockerd } from './daemons';
import { exec, runtimeTimeoutMs, must, which } from './exec';
import { ensureEngineImage } from './image-load';
import { containerCostParts } from './container-cost';
import { CONTAINERD_SHIM } from './containerd';
import { GVISOR_PROCESSES } from './oci-runtime';
import { CONTAINER_SETTINGS, RUNTIME_SETTING, type Settings, type TargetDeclaration } from './settings';

/**
 * What Docker and Podman are, once: a container's settings and the runtime they run it with; the
 * processes with roles of their own: Docker's containers run under containerd's shim, Podman's
 * under conmon, and gVisor's processes when runsc is the runtime.
 */
const ENGINE_SETTINGS: Settings = { ...CONTAINER_SETTINGS, ...RUNTIME_SETTING };
export const ENGINE_DECLARED: Record<'docker' | 'podman', TargetDeclaration> = {
  docker: { description: 'Docker engine (runtime selectable: runc, runsc)', settings: ENGINE_SETTINGS, processes: [...CONTAINERD_SHIM, ...GVISOR_PROCESSES] },
  podman: { description: 'Podman (runtime selectable)', settings: ENGINE_SETTINGS, processes: [{ role: 'shim', comm: /^conmon$/ }, ...GVISOR_PROCESSES] },
};
import { attachLoop, dataParts, execSession, prepareCommon, SERVER_PORT } from './session';
import type { Availability, Session, SessionSpec, Target } from './types';

type Engine = 'docker' | 'podman';

export class EngineTarget implements Target {
  readonly kind = 'container' as const;
  constructor(readonly name: Engine, readonly description: string) {}

  private defaultRuntime(spec: SessionSpec): string | undefined {
    // Podman's default crun cannot run on a hybrid cgroup v1 host; runc can.
    return spec.runtime ?? (this.name === 'podman' ? 'runc' : undefined);
  }

  private runFlags(spec: SessionSpec): string[] {
    const rt = this.defaultRuntime(spec);
    const f = ['--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--network', 'none'];
    if (rt) f.push('--runtime', rt);
    // The engine's own default profile unless another is asked for (seccomp.ts checks the path).
    if (spec.seccomp && spec.seccomp !== 'default') f.push('--security-opt', `seccomp=${seccompFor(spec.seccomp).engineOpt}`);
    // Podman asks for rlimits above this machine's hard limits unless told.
    if (this.name === 'podman') f.push('--pull', 'never', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096');
    return f;
  }

  async version(): Promise<string> {
    const r = await exec([this.name, 'version', '--format', this.name === 'docker' ? '{{.Server.Version}}' : '{{.Version}}'], { timeoutMs: 15_000 });
    return r.code === 0 ? r.stdout.trim() : 'unknown';
  }

  async available(): Promise<Availability> {
    if (process.getuid?.() !== 0) return { ok: false, reason: `${this.name} targets need root (namespaces, veth)` };
    if (!(await which(this.name))) return { ok: false, reason: `${this.name} is not installed (Debian package ${this.name === 'docker' ? 'docker.io' : 'podman'})` };
    // Only "the software is not here" is an answer; a failure of isoprobe's own steps (the daemon
    // start, the image build and load) is thrown, so it can never pass as "unavailable".
    if (this.name === 'docker') {
      // The docker CLI alone (a machine image may ship it) is not Docker: no dockerd, no engine.
      try {
        await ensureDockerd();
      } catch (e) {
        if ((e as IsoprobeError).code === 'EUNAVAILABLE') return { ok: false, reason: (e as Error).message };
        throw e;
      }
    }
    const ref = await ensureEngineImage(this.name);
    // Named with this process's mark and removed whatever happens: a check whose client is
    // killed at its time limit must not leave its container running.
    const name = uniqueName(`iso-${this.name}-avail-`, 64);
    try {
      const r = await exec([this.name, 'run', '--rm', '--name', name, ...this.runFlags({}), ref, '--version'], { timeoutMs: runtimeTimeoutMs() });
      if (r.timedOut) return { ok: false, reason: `${this.name} did not run the probe within ${runtimeTimeoutMs() / 1000} s` };
      if (r.code !== 0) return { ok: false, reason: `${this.name} cannot run the probe here: ${r.stderr.trim().split('\n').pop()}` };
    } finally {
      await exec([this.name, 'rm', '-f', name], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
    }
    return { ok: true, version: await this.version() };
  }

  async start(spec: SessionSpec = {}): Promise<Session> {
    if (this.name === 'docker') await ensureDockerd();
    const ref = await ensureEngineImage(this.name, spec.probe);
    const common = await prepareCommon(spec, false);
    const id = uniqueName(`iso-${this.name}-`, 64);
    let loop: string | undefined;
    let link: PeerLink | undefined;
    let created = false;
    const teardown = async () => {
      if (created) await exec([this.name, 'rm', '-f', id], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
      await link?.destroy();
      if (loop) await exec(['losetup', '-d', loop]).catch(() => undefined);
      await common.undo();
    };
    try {
      const storage: string[] = [];
      if (common.dataFile && spec.storage === 'device') {
        loop = attachLoop(common.dataFile).dev;
        storage.push('--device', `${loop}:${loop}:rw`);
      } else if (common.dataFile) {
        storage.push('-v', `${common.dataFile}:${DATA_DIR}/${common.dataName}:rw`);
      }
      const rt = this.defaultRuntime(spec);
      const command = [this.name, 'run', '-d', '--name', id, ...this.runFlags(spec), ...storage, ref, 'net', 'serve', `--bind=0.0.0.0:${SERVER_PORT}`];
      created = true;
      const launchedNs = monoNs();
      await must(command, `starting the ${this.name} container`);
      const pid = Number((await must([this.name, 'inspect', '-f', '{{.State.Pid}}', id], `finding the ${this.name} container's pid`)).trim());
      if (!pid) throw new IsoprobeError('ERUNTIME', `${this.name} container ${id} has no pid: it is not running`);
      if (spec.network !== false) link = await createPeerForPid(pid, 180 + Math.floor(Math.random() * 70));
      const gvisor = rt === 'runsc';
      const stack = {
        target: rt && rt !== 'runc' ? `${this.name}-${rt}` : this.name,
        kind: 'container' as const,
        runtime: `${this.name}${rt ? ` --runtime ${rt}` : ''}`,
        runtime_version: `${this.name} ${await this.version()}`,
        platform: gvisor ? 'gVisor ptrace, hostinet' : undefined,
        storage: loop ? `block device: loop device ${loop} with direct I/O on ${common.dataFile}` :
          common.dataFile ? `bind mount (-v) of ${common.dataFile}${gvisor ? ' through the gVisor gofer' : ''}; read-only image rootfs` : 'none',
        network: link ? 'veth pair from a peer namespace isoprobe made into the container\'s namespace (--network none)' : 'loopback only',
        cgroup_limits: 'none (isoprobe sets no cgroup limits)',
        seccomp: !spec.seccomp || spec.seccomp === 'default'
          ? (this.name === 'docker' ? "Docker's built-in default profile" : "Podman's default profile (containers.conf seccomp_profile, normally /usr/share/containers/seccomp.json)")
          : seccompFor(spec.seccomp).description,
        probe_sha256: common.sha,
        emulated: false,
        command,
      };
      return execSession({
        stack,
        execProbe: (args, o) => exec([this.name, 'exec', ...(o.user ? ['--user', o.user] : []), id, PROBE_IN_IMAGE, ...args], o),
        ...containerCostParts(pid, launchedNs, id, gvisor, ENGINE_DECLARED[this.name].processes!),
        ...dataParts(common.dataFile, common.dataName, loop),
        link: link ? { targetAddr: link.targetAddr, peerNs: link.peer, peerAddr: link.peerAddr } : undefined,
        attribution: spec.attribution,
        teardown,
      });
    } catch (e) {
      await teardown();
      throw e;
    }
  }
}
