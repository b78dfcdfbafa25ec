// What a target says is its own on the host: the processes whose threads serve the boundary, and
// the cgroup its processes run in. Targets give the pids they know; this file finds the rest.
import { cgroupOf, cgroupProcs } from './cgroup';
import { allPids, argv0Of, cmdlineOf, commOf, parentOf, pidsNamed } from './proc';
import { processRole, type Role, type Vmm } from './roles';

export interface ScopeProcess {
  pid: number;
  /** A VMM: its threads get roles by their names. */
  vmm?: Vmm;
  /** Otherwise every thread of the process has this role. */
  role?: Role;
}

export interface CostScope {
  /** Long-lived processes whose threads are sampled one by one. */
  processes: ScopeProcess[];
  /**
   * The accounting cgroup of the target's processes: its total also counts processes and threads
   * that come and go (each exec'd probe); what the sampled threads inside it do not explain goes to
   * `role`.
   */
  cgroup?: { path: string; role: Role };
  /** Guest memory configured (a VM), MiB: its RAM mapping is told apart from the VMM's own. */
  guestMiB?: number;
  /** Where its threads ran is sampled over each window (lib/cost/placement.ts): a VMM's. */
  placement?: boolean;
}

/** A VMM's scope: its threads by name, vhost kernel threads named after it, its own cgroup. */
export function vmmScope(pid: number, vmm: Vmm, cgroup: string | undefined, guestMiB: number): CostScope {
  // Before Linux 6.4 each vhost device has a kernel thread "vhost-<owner pid>"; since, a thread
  // of the VMM itself (found with the VMM's threads).
  const kernelVhost = pidsNamed(new RegExp(`^vhost-${pid}$`)).filter((k) => parentOf(k) === 2);
  return {
    processes: [{ pid, vmm }, ...kernelVhost.map((k) => ({ pid: k, role: 'vhost' as const }))],
    cgroup: cgroup ? { path: cgroup, role: 'exited-threads' } : undefined,
    guestMiB,
    placement: true,
  };
}

/** The shim above a container's main process, if any (containerd-shim-*, conmon). */
function shimOf(pid: number): number | undefined {
  for (let p = parentOf(pid), depth = 0; p && p > 1 && depth < 4; p = parentOf(p), depth++)
    if (processRole(commOf(p), argv0Of(p)) === 'shim') return p;
  return undefined;
}

/** gVisor's processes of a sandbox: runsc-sandbox and runsc-gofer whose command line names it. */
function gvisorProcesses(id: string): ScopeProcess[] {
  const out: ScopeProcess[] = [];
  for (const pid of allPids()) {
    const cmd = cmdlineOf(pid);
    const role = processRole(commOf(pid), cmd[0] ?? '');
    if ((role === 'sentry' || role === 'gofer') && cmd.some((a) => a.includes(id))) out.push({ pid, role });
  }
  return out;
}

/**
 * A container's scope from its main process: its cgroup (the exec'd probes come and go inside it),
 * gVisor's Sentry and Gofer split out of it by name, and the shim above it.
 */
export function containerScope(mainPid: number, id?: string): CostScope {
  const cg = cgroupOf(mainPid);
  const rooted = !cg || /\/$|^\/sys\/fs\/cgroup\/[^/]+$/.test(cg);
  const processes: ScopeProcess[] = [];
  const seen = new Set<number>();
  const add = (p: ScopeProcess) => {
    if (!seen.has(p.pid)) processes.push(p), seen.add(p.pid);
  };
  for (const pid of rooted ? [mainPid] : cgroupProcs(cg)) {
    const role = processRole(commOf(pid), argv0Of(pid));
    if (role) add({ pid, role });
  }
  if (id) for (const p of gvisorProcesses(id)) add(p);
  const shim = shimOf(mainPid);
  if (shim) add({ pid: shim, role: 'shim' });
  if (rooted) add({ pid: mainPid, role: 'container' });
  return { processes, cgroup: rooted ? undefined : { path: cg, role: 'container' } };
}
