// containerd through `ctr`: runc by default, Kata Containers with runtime io.containerd.kata.v2 —
// the same path, only the runtime name differs. The container joins a namespace isoprobe made.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { monoNs } from '../cost/sample';
import { uniqueName } from '../net/netns';
import { DATA_DIR, PROBE_IN_IMAGE } from '../image/oci';
import { seccompFor } from '../image/seccomp';
import { ensureContainerd } from './daemons';
import { kvmUnavailable } from './kvm';
import { exec, runtimeTimeoutMs, must, which } from './exec';
import { CTR_NAMESPACE, ensureCtrImage } from './image-load';
import type { ProcessNames } from '../cost/roles';
import { containerCostParts } from './container-cost';
import { GVISOR_PROCESSES } from './oci-runtime';
import { CONTAINER_SETTINGS, RUNTIME_SETTING, type TargetDeclaration } from './settings';

/** containerd's shim above each container, by its name (containerd-shim-runc-v2, -kata-v2, ...), and gVisor's processes when runsc is its runtime. */
export const CONTAINERD_SHIM: ProcessNames = [{ role: 'shim', comm: /^containerd-shim/, argv0: /^containerd-shim/ }];
export const CONTAINERD_PROCESSES: ProcessNames = [...CONTAINERD_SHIM, ...GVISOR_PROCESSES];


import { attachLoop, dataParts, execSession, linkOf, prepareCommon, SERVER_PORT, tempWorkDir } from './session';
import type { Availability, Session, SessionSpec, Target } from './types';

export const RUNC_V2 = 'io.containerd.runc.v2';
export const KATA_V2 = 'io.containerd.kata.v2';

/** containerd and Kata, once: what each is and takes (Kata is containerd with its runtime fixed). */
export const CONTAINERD_DECLARED: Record<'containerd' | 'kata', TargetDeclaration> = {
  containerd: { description: `containerd via ctr, runtime ${RUNC_V2}`, settings: { ...CONTAINER_SETTINGS, ...RUNTIME_SETTING }, processes: CONTAINERD_PROCESSES },
  kata: {
    description: `Kata Containers via containerd, runtime ${KATA_V2}`, settings: CONTAINER_SETTINGS, processes: CONTAINERD_PROCESSES,
    refuses: { runtime: `kata is containerd with the runtime ${KATA_V2} (for another runtime: containerd[runtime=...])` },
  },
};

/** Why Kata cannot run here, or undefined. Kata runs every container in a VM: it needs KVM. */
export async function kataUnavailable(): Promise<string | undefined> {
  const missing: string[] = [];
  if (!(await which('containerd-shim-kata-v2'))) missing.push('containerd-shim-kata-v2 is not installed (Kata Containers is not packaged in Debian 12)');
  const kvm = kvmUnavailable();
  if (kvm) missing.push(`${kvm} (Kata runs each container in a KVM virtual machine)`);
  return missing.length ? missing.join('; ') : undefined;
}

// ctr keeps containerd's default capability set unless told, and takes no "ALL": each one of that
// set is dropped by name (the probe needs none; tests check the probe reports CapEff 0).
const CONTAINERD_DEFAULT_CAPS = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP',
  'NET_BIND_SERVICE', 'NET_RAW', 'SYS_CHROOT', 'MKNOD', 'AUDIT_WRITE', 'SETFCAP'];
const CAP_DROP = CONTAINERD_DEFAULT_CAPS.flatMap((c) => ['--cap-drop', `CAP_${c}`]);

export class ContainerdTarget implements Target {
  readonly kind = 'container' as const;
  constructor(readonly name: string, readonly description: string, private readonly runtime: string = RUNC_V2) {}

  async available(): Promise<Availability> {
    if (process.getuid?.() !== 0) return { ok: false, reason: 'containerd targets need root' };
    if (!(await which('ctr'))) return { ok: false, reason: 'ctr is not installed (Debian package containerd)' };
    if (this.runtime === KATA_V2) {
      const why = await kataUnavailable();
      if (why) return { ok: false, reason: why };
    }
    // As for Docker and Podman: a failure of isoprobe's own steps is thrown, never "unavailable".
    await ensureContainerd();
    const ref = await ensureCtrImage();
    const id = uniqueName('iso-ctr-', 64);
    const ctr = ['ctr', '-n', CTR_NAMESPACE];
    try {
      const r = await exec([...ctr, 'run', '--rm', '--runtime', this.runtime, ref, id, PROBE_IN_IMAGE, '--version'], { timeoutMs: runtimeTimeoutMs() });
      if (r.timedOut) return { ok: false, reason: `ctr did not run the probe with ${this.runtime} within ${runtimeTimeoutMs() / 1000} s` };
      if (r.code !== 0) return { ok: false, reason: `ctr cannot run the probe with ${this.runtime}: ${r.stderr.trim().split('\n').pop()}` };
    } finally {
      // --rm removes it on a normal exit; a check killed at its limit must not leave it behind.
      await exec([...ctr, 'task', 'kill', '-s', 'SIGKILL', id], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
      await exec([...ctr, 'task', 'delete', id], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
      await exec([...ctr, 'container', 'delete', id], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
    }
    const v = await exec(['ctr', 'version'], { timeoutMs: 10_000 });
    return { ok: true, version: /Server:[\s\S]*?Version:\s*(\S+)/.exec(v.stdout)?.[1] ?? 'unknown' };
  }

  async start(spec: SessionSpec = {}): Promise<Session> {
    const runtime = spec.runtime ?? this.runtime;
    await ensureContainerd();
    const ref = await ensureCtrImage(spec.probe);
    const common = await prepareCommon(spec, true);
    const id = uniqueName('iso-ctr-', 64);
    const ctr = ['ctr', '-n', CTR_NAMESPACE];
    let loop: string | undefined;
    let work: { dir: string; remove: () => void } | undefined;
    let created = false;
    const teardown = async () => {
      if (created) {
        await exec([...ctr, 'task', 'kill', '-s', 'SIGKILL', id], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
        for (let i = 0; i < 40; i++) {
          const d = await exec([...ctr, 'task', 'delete', id], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
          if (!d || d.code === 0 || d.timedOut || /not found/.test(d.stderr)) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        await exec([...ctr, 'container', 'delete', id], { timeoutMs: runtimeTimeoutMs() }).catch(() => undefined);
      }
      if (loop) await exec(['losetup', '-d', loop]).catch(() => undefined);
      await common.undo();
      work?.remove();
    };
    try {
      const storage: string[] = [];
      if (common.dataFile && spec.storage === 'device') {
        loop = attachLoop(common.dataFile).dev;
        storage.push('--device', loop);
      } else if (common.dataFile) {
        storage.push('--mount', `type=bind,src=${common.dataFile},dst=${DATA_DIR}/${common.dataName},options=rbind:rw`);
      }
      const net = common.pair ? ['--with-ns', `network:/var/run/netns/${common.pair.a}`] : [];
      // ctr applies no seccomp profile unless asked: --seccomp is containerd's default one; a
      // profile file is given to ctr in the OCI form it reads.
      const sc = !spec.seccomp || spec.seccomp === 'default' ? undefined : seccompFor(spec.seccomp);
      let seccomp = ['--seccomp'];
      if (sc && !sc.oci) seccomp = [];
      else if (sc) {
        work = tempWorkDir('isoprobe-ctr-');
        writeFileSync(join(work.dir, 'seccomp.json'), JSON.stringify(sc.oci), { mode: 0o600 });
        seccomp = ['--seccomp', '--seccomp-profile', join(work.dir, 'seccomp.json')];
      }
      const command = [...ctr, 'run', '-d', '--runtime', runtime, '--read-only', ...CAP_DROP, ...seccomp, ...storage, ...net, ref, id, PROBE_IN_IMAGE, 'net', 'serve', `--bind=0.0.0.0:${SERVER_PORT}`];
      created = true;
      const launchedNs = monoNs();
      await must(command, `starting the containerd (${runtime}) container`);
      const pid = Number(/^\S+\s+(\d+)/m.exec((await must([...ctr, 'task', 'ls'], 'finding the containerd task\'s pid')).split('\n').filter((l) => l.startsWith(`${id} `)).join('\n'))?.[1]);
      const v = await exec(['ctr', 'version'], { timeoutMs: 10_000 });
      const pair = common.pair;
      let execN = 0;
      const stack = {
        target: this.name,
        kind: 'container' as const,
        runtime: `containerd (ctr) --runtime ${runtime}`,
        runtime_version: `containerd ${/Server:[\s\S]*?Version:\s*(\S+)/.exec(v.stdout)?.[1] ?? 'unknown'}`,
        storage: loop ? `block device: loop device ${loop} with direct I/O on ${common.dataFile}` : common.dataFile ? `bind mount of ${common.dataFile}; read-only image rootfs (overlayfs snapshot)` : 'none',
        network: pair ? 'veth pair between a namespace isoprobe made (joined with --with-ns) and a peer namespace' : 'loopback only',
        cgroup_limits: 'none (isoprobe sets no cgroup limits)',
        seccomp: sc ? sc.description : "containerd's default profile (ctr --seccomp)",
        probe_sha256: common.sha,
        emulated: false,
        command,
      };
      return execSession({
        stack,
        execProbe: (args, o) => exec([...ctr, 'task', 'exec', '--exec-id', `${id}-${++execN}`, ...(o.user ? ['--user', o.user] : []), id, PROBE_IN_IMAGE, ...args], o),
        ...(pid ? containerCostParts(pid, launchedNs, id, /runsc/.test(runtime), CONTAINERD_PROCESSES) : {}),
        ...dataParts(common.dataFile, common.dataName, loop),
        link: linkOf(pair),
        attribution: spec.attribution,
        teardown,
      });
    } catch (e) {
      await teardown();
      throw e;
    }
  }
}
