// What a target says is its own on the host: the processes whose threads serve the boundary, and
// the cgroup its processes run in. Targets give the pids they know; this file finds the rest.
import { cgroupOf, cgroupProcs } from './cgroup';
import { allPids, argv0Of, cmdlineOf, commOf, parentOf, pidsNamed } from './proc';
import { processRole, type ProcessNames, type Role, type ThreadNames } from './roles';

export interface ScopeProcess {
  pid: number;
  /** A VMM: its threads get roles by the names it gives them (the VMM target's declaration). */
  threads?: ThreadNames;
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
  /** The names that give the cgroup's other processes roles of their own (the target's declaration). */
  names?: ProcessNames;
}

/** A VMM's scope: its threads by name, vhost kernel threads named after it, its own cgroup. */
export function vmmScope(pid: number, threads: ThreadNames, cgroup: string | undefined, guestMiB: number): CostScope {
  // Before Linux 6.4 each vhost device has a kernel thread "vhost-<owner pid>"; since, a thread
  // of the VMM itself (found with the VMM's threads).
  const kernelVhost = pidsNamed(new RegExp(`^vhost-${pid}$`)).filter((k) => parentOf(k) === 2);
  return {
    processes: [{ pid, threads }, ...kernelVhost.map((k) => ({ pid: k, role: 'vhost' as const }))],
    cgroup: cgroup ? { path: cgroup, role: 'exited-threads' } : undefined,
    guestMiB,
    placement: true,
  };
}

/** The shim above a container's main process, if any (containerd-shim-*, conmon). */
function shimOf(pid: number, names: ProcessNames): number | undefined {
  for (let p = parentOf(pid), depth = 0; p && p > 1 && depth < 4; p = parentOf(p), depth++)
    if (processRole(names, commOf(p), argv0Of(p)) === 'shim') return p;
  return undefined;
}

/** A sandbox's kernel processes (gVisor's runsc-sandbox and runsc-gofer) whose command line names it. */
function sandboxProcesses(id: string, names: ProcessNames): ScopeProcess[] {
  const out: ScopeProcess[] = [];
  for (const pid of allPids()) {
    const cmd = cmdlineOf(pid);
    const role = processRole(names, commOf(pid), cmd[0] ?? '');
    if ((role === 'sentry' || role === 'gofer') && cmd.some((a) => a.includes(id))) out.push({ pid, role });
  }
  return out;
}

/**
 * A container's scope from its main process: its cgroup (the exec'd probes come and go inside it),
 * a sandbox's kernel processes (gVisor's Sentry and Gofer, found by `id`) split out of it by name,
 * and the shim above it; `names` are the target's.
 */
export function containerScope(mainPid: number, names: ProcessNames, id?: string): CostScope {
  const cg = cgroupOf(mainPid);
  const rooted = !cg || /\/$|^\/sys\/fs\/cgroup\/[^/]+$/.test(cg);
  const processes: ScopeProcess[] = [];
  const seen = new Set<number>();
  const add = (p: ScopeProcess) => {
    if (!seen.has(p.pid)) processes.push(p), seen.add(p.pid);
  };
  for (const pid of rooted ? [mainPid] : cgroupProcs(cg)) {
    const role = processRole(names, commOf(pid), argv0Of(pid));
    if (role) add({ pid, role });
  }
  if (id) for (const p of sandboxProcesses(id, names)) add(p);
  const shim = shimOf(mainPid, names);
  if (shim) add({ pid: shim, role: 'shim' });
  if (rooted) add({ pid: mainPid, role: 'container' });
  return { processes, cgroup: rooted ? undefined : { path: cg, role: 'container' }, names };
}
